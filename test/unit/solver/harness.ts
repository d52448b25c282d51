// Drives PartitionCore like the processor does, without a broker: inputs in a given order,
// work after every "batch", slices granted to starving sessions.
import assert from 'node:assert/strict';
import { PartitionCore, DEFAULT_SOLVER_LIMITS, type Active, type InputRef, type Output, type SessionState, type SolverEvent, type SolverLimits } from '../../../services/solver/domain';
import { wasmKernel, type SolverSession } from '../../../wasm';
import type { IterationSliceGranted } from '../../../schemas/generated/events';
import { derivedEventId } from '../../../services/runtime/ids';

export interface Logged { readonly topic: string; readonly offset: number; readonly event: SolverEvent }

export function topicOf(e: SolverEvent): string {
  if (e.type === 'CostUpdated') return 'solver.costs';
  if (e.type === 'CorrectionRequested' || e.type === 'VerificationRequested' || e.type === 'EntryEstimateRequested' || e.type === 'IterationSliceGranted') return 'solver.commands';
  if (e.type === 'ConsensusReached' || e.type === 'ConsensusNotReached') return 'solver.verifications';
  return 'solver.sessions';
}

export const refOf = (l: Logged): InputRef => ({ topic: l.topic, partition: 0, offset: l.offset, eventId: l.event.meta.event_id, occurredAt: l.event.meta.occurred_at });

/** Assigns offsets per topic, in the given order. */
export function toLog(events: SolverEvent[]): Logged[] {
  const next: Record<string, number> = {};
  return events.map((event) => {
    const topic = topicOf(event);
    const offset = next[topic] ?? 0;
    next[topic] = offset + 1;
    return { topic, offset, event };
  });
}

export const slice = (sessionId: string, n: number, work: number): IterationSliceGranted => ({
  type: 'IterationSliceGranted', meta: { event_id: derivedEventId(sessionId, `slice:${n}`), correlation_id: sessionId, causation_id: null, occurred_at: 0, producer: 'test', sequence: null },
  session_id: sessionId, work,
});

/**
 * `resequence: false` when the log already holds the sequenced copies (a recorded log).
 * Feeds `log` in batches of `batch` records (interleaving the topics as `order` says), runs work
 * after each batch and appends a slice for starving sessions until all work is done.
 */
export function run(log: Logged[], opts: { batch: number; sliceWork: number; limits?: Partial<SolverLimits>; shuffleTopics?: boolean; core?: PartitionCore; resequence?: boolean }): { outputs: Output[]; core: PartitionCore; consumed: Logged[] } {
  const core = opts.core ?? new PartitionCore(0, { ...DEFAULT_SOLVER_LIMITS, ...opts.limits }, wasmKernel());
  const queue = [...log];
  if (opts.shuffleTopics) {
    // A different cross-topic interleaving: per-topic order kept, costs pulled ahead.
    queue.sort((p, q) => (p.topic === q.topic ? 0 : p.topic === 'solver.costs' ? -1 : q.topic === 'solver.costs' ? 1 : 0));
  }
  const outputs: Output[] = [];
  /** The log as this run consumed it, the copies and ticks it sequenced included: a recorded log. */
  const consumed: Logged[] = [];
  let slices = 0;
  let commandOffset = Math.max(-1, ...log.filter((l) => l.topic === 'solver.commands').map((l) => l.offset)) + 1;
  let costOffset = Math.max(-1, ...log.filter((l) => l.topic === 'solver.costs').map((l) => l.offset)) + 1;
  // The copies the core sequences onto solver.costs come back as inputs, as from the broker.
  const collect = (outs: Output[]) => {
    outputs.push(...outs);
    if (opts.resequence !== false) for (const o of outs) if (o.topic === 'solver.costs') queue.push({ topic: 'solver.costs', offset: costOffset++, event: o.event });
  };
  while (queue.length > 0 || core.starving().length > 0) {
    if (queue.length === 0) for (const s of core.starving()) queue.push({ topic: 'solver.commands', offset: commandOffset++, event: slice(s.id, slices++, opts.sliceWork) });
    for (const l of queue.splice(0, opts.batch)) {
      consumed.push(l);
      core.check(l.event, l.topic);
      collect(core.fold(l.event, refOf(l)));
    }
    collect(core.work());
  }
  return { outputs, core, consumed };
}

/** The session, which must be active (its matrix in the kernel). */
export function active(core: PartitionCore, id: string): Active {
  const s = core.sessions.get(id);
  if (s?.status !== 'active') assert.fail(`session ${id} is ${s?.status ?? 'unknown'}, not active`);
  return s;
}

/** The kernel a session holds, if any. */
export const kernelOf = (s: SessionState): SolverSession | undefined => (s.status === 'active' ? s.kernel : undefined);

/** Outputs without wall-clock fields, for bitwise comparison. */
export function comparable(outputs: Output[]): unknown[] {
  return outputs.map((o) => (o.event.type === 'IterationCompleted' ? { ...o.event, iteration_time_ms: 0 } : o.event));
}
