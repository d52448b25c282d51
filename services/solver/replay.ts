// Replay of one session for debugging: its inputs read from the log by a plain reader that
// commits and produces nothing, refolded by the same core, every recomputed IterationCompleted
// and EntryEstimated compared with the recorded one field by field, doubles bit for bit
// (iteration_time_ms is wall clock and is skipped). Work is unlimited (outputs do not depend on how work was sliced);
// stream time still advances on the other sessions' records, so idle eviction replays too.
import type { EntryEstimated, IterationCompleted } from '../../schemas/generated/events';
import { SOLVER_PARTITIONS } from '../../topics/catalog';
import { wasmKernel, type KernelFactory } from '../../wasm';
import type { EventCodec } from '../runtime/codec';
import { DEFAULT_SOLVER_LIMITS, InputRejected, PartitionCore, type SolverLimits } from './domain';
import { readLog, type LogRecord } from '../runtime/kafka/log-reader';
import type { EventValidator } from '../runtime/processor';
import { firstDivergence, type Divergence, type Recorded } from '../runtime/divergence';
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

export { firstDifference, type Divergence } from '../runtime/divergence';

export interface ReplayResult {
  readonly ok: boolean;
  readonly partition: number;
  readonly inputs: number;
  readonly recorded: number;
  readonly recomputed: number;
  readonly compared: number;
  readonly divergence?: Divergence;
  /** The session's EntryEstimated answers, compared the same way (from the first one). */
  readonly estimates: { readonly recorded: number; readonly compared: number; readonly divergence?: Divergence };
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
  const recorded: Array<Recorded<IterationCompleted> & { timestampMs: number }> = [];
  const recordedEstimates: Array<Recorded<EntryEstimated>> = [];
  for (const r of recordedRecs) {
    const e = r.event;
    if (e?.type === 'IterationCompleted' && e.session_id === o.sessionId) recorded.push({ topic: 'solver.iterations', offset: r.offset, timestampMs: r.timestampMs, event: e });
    if (e?.type === 'EntryEstimated' && e.session_id === o.sessionId) recordedEstimates.push({ topic: 'solver.iterations', offset: r.offset, event: e });
  }

  const core = new PartitionCore(partition, { ...(o.limits ?? DEFAULT_SOLVER_LIMITS), recordWork: Number.MAX_SAFE_INTEGER / 4 }, o.kernel ?? wasmKernel());
  const merged = mergeByTime(lists);
  const recomputed: IterationCompleted[] = [];
  const estimates: EntryEstimated[] = [];
  let done = 0;
  for (const r of merged) {
    done++;
    if (done % 500 === 0) o.progress?.(done, merged.length);
    const e = r.event;
    // What the live processor takes (the runner passes the rest over), so stream time moves alike.
    if (!isSolverInput(e)) continue;
    const ref = { topic: r.topic.slice(o.topicPrefix.length), partition, offset: r.offset, eventId: e.meta.event_id, occurredAt: e.meta.occurred_at };
    // A record the runner dead-lettered moved no stream time either.
    if (o.validate && o.validate(e, r.timestampMs).length > 0) continue;
    if (e.session_id !== o.sessionId) { core.observe(ref); continue; }
    try { core.check(e, ref.topic); } catch (err) { if (err instanceof InputRejected) continue; throw err; }
    const outs = [...core.fold(e, ref), ...core.work()];
    for (const x of outs) {
      if (x.event.type === 'IterationCompleted') recomputed.push(x.event);
      if (x.event.type === 'EntryEstimated') estimates.push(x.event);
    }
  }
  o.progress?.(merged.length, merged.length);

  const start = startIndex(recorded, o.from);
  const divergence = firstDivergence(recorded, recomputed, summary, start);
  const estimated = firstDivergence(recordedEstimates, estimates, (e) => ({ index: e.index, estimate: e.estimate }));
  return {
    ok: !divergence && !estimated, partition, inputs: merged.length, recorded: recorded.length, recomputed: recomputed.length,
    compared: (divergence ? divergence.index : Math.max(0, recorded.length)) - Math.min(start, recorded.length),
    ...(divergence ? { divergence } : {}),
    estimates: { recorded: recordedEstimates.length, compared: estimated ? estimated.index : recordedEstimates.length, ...(estimated ? { divergence: estimated } : {}) },
  };
}

function startIndex(recorded: ReadonlyArray<{ readonly timestampMs: number; readonly event: IterationCompleted }>, from: ReplayOptions['from']): number {
  if (!from) return 0;
  const i = recorded.findIndex((r) => ('offset' in from
    ? Math.max(...r.event.applied_through.map((p) => p.offset)) >= from.offset
    : r.timestampMs >= from.timestampMs));
  return i < 0 ? recorded.length : i;
}

const summary = (e: IterationCompleted) => ({ iteration: e.iteration, residual_norm: e.residual_norm });
