// Replay of one session for debugging: its inputs read from the log by a plain reader that
// commits and produces nothing, refolded by the same core, every recomputed IterationCompleted
// compared with the recorded one field by field, doubles bit for bit (iteration_time_ms is wall
// clock and is skipped). Work is unlimited (outputs do not depend on how work was sliced);
// stream time still advances on the other sessions' records, so idle eviction replays too.
import type { IterationCompleted } from '../../schemas/generated/events';
import { SOLVER_PARTITIONS } from '../../topics/catalog';
import { wasmKernel, type KernelFactory } from '../../wasm';
import type { EventCodec } from '../runtime/codec';
import { DEFAULT_SOLVER_LIMITS, InputRejected, PartitionCore, type SolverLimits } from './domain';
import { readLog, type LogRecord } from '../runtime/kafka/log-reader';
import type { EventValidator } from '../runtime/processor';
import { INPUTS, isSolverInput } from './processor';
import { mergeByTime } from './restore';

export interface ReplayOptions {
  readonly brokers: readonly string[];
  readonly codec: EventCodec;
  readonly topicPrefix: string;
  readonly sessionId: string;
  /** Compare only recorded events whose inputs reach this offset / timestamp (ms). */
  readonly from?: { offset: number } | { timestampMs: number };
  readonly limits?: SolverLimits;
  /** The kernel the service ran (default the WASM one; the reference computes the same bits). */
  readonly kernel?: KernelFactory;
  readonly validate?: EventValidator;
  readonly progress?: (done: number, total: number) => void;
}

export interface Divergence {
  readonly index: number;
  /** Offset of the recorded event in solver.iterations. */
  readonly offset: number | null;
  readonly field: string;
  readonly recorded: unknown;
  readonly recomputed: unknown;
}

export interface ReplayResult {
  readonly ok: boolean;
  readonly partition: number;
  readonly inputs: number;
  readonly recorded: number;
  readonly recomputed: number;
  readonly compared: number;
  readonly divergence?: Divergence;
}

export async function replaySession(o: ReplayOptions): Promise<ReplayResult> {
  const all = [...Array(SOLVER_PARTITIONS).keys()];
  const sessions = await readLog(o.brokers, o.codec, all.map((p) => ({ topic: o.topicPrefix + 'solver.sessions', partition: p, from: 0 })));
  const opened = sessions.find((r) => r.event?.type === 'SessionOpened' && r.event.session_id === o.sessionId);
  if (!opened) throw new Error(`session ${o.sessionId} has no SessionOpened in ${o.topicPrefix}solver.sessions`);
  const partition = opened.partition;
  const lists: LogRecord[][] = [];
  for (const t of INPUTS) {
    // Every partition is read: producers with other partitioners may have placed the session's
    // records elsewhere; stream time comes from the partition that holds them.
    const recs = t === 'solver.sessions' ? sessions : await readLog(o.brokers, o.codec, all.map((p) => ({ topic: o.topicPrefix + t, partition: p, from: 0 })));
    const mine = recs.find((r) => r.event && 'session_id' in r.event && r.event.session_id === o.sessionId)?.partition ?? partition;
    lists.push(recs.filter((r) => r.partition === mine));
  }
  // Read every partition: the producer's partitioner (not ours) placed the outputs.
  const recordedRecs = await readLog(o.brokers, o.codec, all.map((p) => ({ topic: o.topicPrefix + 'solver.iterations', partition: p, from: 0 })));
  const recorded: Recorded[] = [];
  for (const r of recordedRecs) {
    if (r.event?.type === 'IterationCompleted' && r.event.session_id === o.sessionId) recorded.push({ offset: r.offset, timestampMs: r.timestampMs, event: r.event });
  }

  const core = new PartitionCore(partition, { ...(o.limits ?? DEFAULT_SOLVER_LIMITS), recordWork: Number.MAX_SAFE_INTEGER / 4 }, o.kernel ?? wasmKernel());
  const merged = mergeByTime(lists);
  const recomputed: IterationCompleted[] = [];
  let done = 0;
  for (const r of merged) {
    done++;
    if (done % 500 === 0) o.progress?.(done, merged.length);
    const e = r.event;
    // What the live processor takes (the runner passes the rest over), so stream time moves alike.
    if (!isSolverInput(e)) continue;
    const ref = { topic: r.topic.slice(o.topicPrefix.length), partition, offset: r.offset, eventId: e.meta.event_id, occurredAt: e.meta.occurred_at };
    if (e.session_id !== o.sessionId) { core.observe(ref); continue; }
    if (o.validate && o.validate(e).length > 0) continue;
    try { core.check(e); } catch (err) { if (err instanceof InputRejected) continue; throw err; }
    const outs = [...core.fold(e, ref), ...core.work()];
    for (const x of outs) if (x.event.type === 'IterationCompleted') recomputed.push(x.event);
  }
  o.progress?.(merged.length, merged.length);

  const start = startIndex(recorded, o.from);
  const base = { partition, inputs: merged.length, recorded: recorded.length, recomputed: recomputed.length };
  for (let i = start; i < Math.max(recorded.length, recomputed.length); i++) {
    const rec = recorded[i]?.event;
    const got = recomputed[i];
    const offset = recorded[i]?.offset ?? null;
    if (!rec || !got) return { ...base, ok: false, compared: i - start, divergence: { index: i, offset, field: rec ? '(missing recomputed event)' : '(extra recomputed event)', recorded: rec ? summary(rec) : null, recomputed: got ? summary(got) : null } };
    const field = firstDifference(rec, got);
    if (field) return { ...base, ok: false, compared: i - start, divergence: { index: i, offset, field: field.path, recorded: field.a, recomputed: field.b } };
  }
  return { ...base, ok: true, compared: Math.max(0, recorded.length - start) };
}

interface Recorded {
  readonly offset: number;
  readonly timestampMs: number;
  readonly event: IterationCompleted;
}

function startIndex(recorded: readonly Recorded[], from: ReplayOptions['from']): number {
  if (!from) return 0;
  const i = recorded.findIndex((r) => ('offset' in from
    ? Math.max(...r.event.applied_through.map((p) => p.offset)) >= from.offset
    : r.timestampMs >= from.timestampMs));
  return i < 0 ? recorded.length : i;
}

const summary = (e: IterationCompleted) => ({ iteration: e.iteration, residual_norm: e.residual_norm });

/** First field that differs, doubles compared bit for bit; wall-clock fields skipped. */
export function firstDifference(a: unknown, b: unknown, path = ''): { path: string; a: unknown; b: unknown } | undefined {
  if (path === 'iteration_time_ms') return undefined;
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b) ? undefined : { path, a, b };
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b) ? undefined : { path, a: a.toString('hex'), b: b.toString('hex') };
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return { path: `${path}.length`, a: a.length, b: b.length };
    for (let i = 0; i < a.length; i++) { const d = firstDifference(a[i], b[i], `${path}[${i}]`); if (d) return d; }
    return undefined;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], path ? `${path}.${key}` : key);
      if (d) return d;
    }
    return undefined;
  }
  return a === b ? undefined : { path, a, b };
}
