// The events the solver emits, built from session state. Event ids count a session's outputs
// (outSeq), so the same inputs give the same ids on every replay.
import type {
  ConflictReported, ConsensusNotReached, ConsensusReached, ConvergenceReached, CorrectionRequested, EntryEstimated, EntryEstimateRequested, InputPosition, IterationCompleted,
  IterationSliceGranted, RejectionReason, SessionClosed, SessionOpened, SessionRejected, SolutionPublished, SolverMethod, VerificationRequested,
} from '../../schemas/generated/events';
import { packFloat64 } from '../../schemas/packed';
import type { BaseMethod } from '../../wasm';
import { derivedEventId } from '../runtime/ids';
import type { EstimateFacts } from './estimate';
import type { Active, InputRef, MatrixEdit, Open, Positions, SessionState, SolveState, Verdict } from './state';

export const PRODUCER = 'solver';

/**
 * Inputs whose effect depends on where they fall among a session's cost updates. Arriving on
 * solver.commands, solver.sessions or solver.verifications they are only copied onto
 * solver.costs (in the same transaction as their offset); the copy takes effect where it lands.
 * The cost partition's order thereby fixes their position, so a restore or a replay that merges
 * the input topics in any other interleaving queues the same jobs in the same order (DESIGN
 * invariant 3): a consensus result changes the interval from the same iteration on every replay.
 */
export type Sequenced = CorrectionRequested | VerificationRequested | EntryEstimateRequested | SessionClosed | ConsensusReached | ConsensusNotReached;
export const SEQUENCED_ON = 'solver.costs';

export type Output =
  | { readonly topic: 'solver.iterations'; readonly event: IterationCompleted | ConvergenceReached | EntryEstimated }
  | { readonly topic: 'solver.solutions'; readonly event: SolutionPublished }
  | { readonly topic: 'solver.sessions'; readonly event: SessionRejected | SessionClosed }
  | { readonly topic: 'mesh.conflicts'; readonly event: ConflictReported }
  | { readonly topic: 'solver.costs'; readonly event: Sequenced | IterationSliceGranted };

const WIRE_METHOD: Record<BaseMethod, SolverMethod> = { jacobi: 'JACOBI', gauss_seidel: 'GAUSS_SEIDEL', cg: 'CG', bicgstab: 'BICGSTAB', neumann: 'NEUMANN' };

/** Values per SolutionPublished chunk. */
const SOLUTION_CHUNK = 65_536;

export const positionsToWire = (p: Positions): InputPosition[] =>
  Object.keys(p).sort().map((key) => {
    const at = key.lastIndexOf('/');
    return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)), offset: p[key]! };
  });

function meta(s: Open, discriminator: string, causation: string, occurredAt: number, sequence: number | null) {
  return {
    event_id: derivedEventId(s.id, `${s.outSeq++}:${discriminator}`),
    correlation_id: s.id, causation_id: causation, occurred_at: occurredAt, producer: PRODUCER, sequence,
  };
}

export interface IterationFacts {
  readonly residual: number;
  readonly rate: number;
  readonly x: Float64Array;
  /** Indices of the largest |Δx| since the previous IterationCompleted. */
  readonly top: readonly number[];
  readonly method: BaseMethod;
}

export function iterationCompleted(s: Active, solve: SolveState, f: IterationFacts): Output {
  return { topic: 'solver.iterations', event: {
    type: 'IterationCompleted', meta: meta(s, `it:${s.iteration}`, solve.causation, solve.occurredAt, s.iteration),
    session_id: s.id, applied_through: positionsToWire(s.applied), iteration: s.iteration, iterations_in_batch: solve.sinceEmit, n: f.x.length,
    method: WIRE_METHOD[f.method], residual_norm: f.residual, convergence_rate: Number.isFinite(f.rate) ? f.rate : 0,
    x_change_indices: [...f.top], x_change_values: f.top.map((i) => f.x[i]!),
    iteration_time_ms: solve.timeMs / solve.sinceEmit, flops: null,
    ...verdictFields(s.verdict), swarm_consensus: s.verdict?.agreement ?? null, verification_interval: s.interval,
  } };
}

/** Seed 000 §2.3's verification fields, from the last consensus the session followed. */
const verdictFields = (v: Verdict | null) => ({
  verified: v?.verified ?? null, verification_score: v?.score ?? null, swarm_participants: v?.participants ?? null, verified_iteration: v?.iteration ?? null,
});

export function convergenceReached(s: Active, solve: SolveState, below: number, residual: number): Output {
  return { topic: 'solver.iterations', event: {
    type: 'ConvergenceReached', meta: meta(s, `conv:${s.iteration}`, solve.causation, solve.occurredAt, s.iteration),
    session_id: s.id, applied_through: positionsToWire(s.applied), iteration: s.iteration, residual_norm: residual,
    tolerance: s.opened.options.tolerance, iterations_below_threshold: below, swarm_consensus: s.verdict?.agreement ?? null,
    ...verdictFields(s.verdict),
  } };
}

/** The answer to an EntryEstimateRequested (its copy on the cost partition causes it), for A and b as of `s.applied`. */
export function entryEstimated(s: Active, req: EntryEstimateRequested, occurredAt: number, f: EstimateFacts): Output {
  return { topic: 'solver.iterations', event: {
    type: 'EntryEstimated', meta: meta(s, `estimate:${req.meta.event_id}`, req.meta.event_id, occurredAt, s.iteration),
    session_id: s.id, applied_through: positionsToWire(s.applied), index: req.index, n: s.csr.n,
    estimate: f.estimate, error_bound: f.bound, confidence: f.confidence, method: f.method, work: f.work, refusal: f.refusal,
  } };
}

/** x in packed chunks, for verifiers. */
export function solutionPublished(s: Active, x: Float64Array, causation: string, occurredAt: number): Output[] {
  const count = Math.max(1, Math.ceil(x.length / SOLUTION_CHUNK));
  const out: Output[] = [];
  for (let c = 0; c < count; c++) {
    out.push({ topic: 'solver.solutions', event: {
      type: 'SolutionPublished', meta: meta(s, `sol:${s.iteration}:${c}`, causation, occurredAt, s.iteration), session_id: s.id,
      iteration: s.iteration, n: x.length, chunk_index: c, chunk_count: count, offset: c * SOLUTION_CHUNK,
      values: packFloat64(x.subarray(c * SOLUTION_CHUNK, Math.min(x.length, (c + 1) * SOLUTION_CHUNK))),
      applied_through: positionsToWire(s.applied),
    } });
  }
  return out;
}

/** The k-th matrix update of `u` found A holding `current`, not its old_value. */
export function conflictReported(s: Active, u: MatrixEdit, k: number, current: number): Output {
  const m = u.updates[k]!;
  return { topic: 'mesh.conflicts', event: {
    type: 'ConflictReported', meta: meta(s, `conflict:${u.eventId}:${k}`, u.eventId, u.occurredAt, null),
    conflict_id: derivedEventId(u.eventId, `matrix:${k}`), agent_id: u.sourceNode, message_id: u.eventId,
    sector_id: 'solver', cluster_id: s.id,
    detail: {
      conflict_type: 'DATA_CONTRADICTION', expected_value: JSON.stringify({ row: m.row, col: m.col, value: m.old_value }),
      received_value: JSON.stringify({ row: m.row, col: m.col, value: current }), context_hash: `${s.id}@${s.iteration}`,
      divergence_depth: null, affects_agent_count: null, conflicting_data: null,
    },
    forgery: null, applied_through: null,
  } };
}

export interface Rejection {
  readonly reason: RejectionReason;
  readonly message: string;
  /** For TOO_LARGE. */
  readonly limit?: number;
  readonly actual?: number;
}

export function sessionRejected(s: Open, r: Rejection, ref: InputRef): Output {
  return { topic: 'solver.sessions', event: {
    type: 'SessionRejected', meta: meta(s, 'rejected', ref.eventId, ref.occurredAt, null), session_id: s.id,
    reason: r.reason, message: r.message, limit: r.limit ?? null, actual: r.actual ?? null,
  } };
}

/** The session ended because its values turned non-finite (work.ts NonFinite). */
export function sessionFailed(s: Active, f: { message: string; causation: string; occurredAt: number }): Output {
  return { topic: 'solver.sessions', event: {
    type: 'SessionClosed', meta: meta(s, 'failed', f.causation, f.occurredAt, null), session_id: s.id, reason: 'FAILED',
    final_iteration: s.iteration > 0 ? s.iteration : null, final_residual_norm: Number.isFinite(s.lastResidual) ? s.lastResidual : null, message: f.message,
  } };
}

/**
 * The refusal of a SessionOpened whose id is in use. Its id derives from the refused record, not
 * from the open session's output counter, which it leaves alone: the open session's outputs are
 * the same with or without the duplicate.
 */
export function duplicateRejected(e: SessionOpened, held: SessionState, ref: InputRef): Output {
  return { topic: 'solver.sessions', event: {
    type: 'SessionRejected', session_id: e.session_id, reason: 'DUPLICATE_SESSION', limit: null, actual: null,
    meta: { event_id: derivedEventId(ref.eventId, 'duplicate'), correlation_id: e.session_id, causation_id: ref.eventId, occurred_at: ref.occurredAt, producer: PRODUCER, sequence: null },
    message: `session ${e.session_id} is already ${held.status === 'assembling' || held.status === 'active' ? 'open' : held.status} (opened by event ${held.opened.meta.event_id}); this SessionOpened (event ${ref.eventId}) is refused and changes nothing`,
  } };
}

export function sessionEvicted(s: Open, streamTime: number, idleTimeoutMicros: number, ref: InputRef): { readonly topic: 'solver.sessions'; readonly event: SessionClosed } {
  const active = s.status === 'active' ? s : undefined;
  return { topic: 'solver.sessions', event: {
    type: 'SessionClosed', meta: meta(s, 'evicted', ref.eventId, streamTime, null), session_id: s.id, reason: 'TIMEOUT',
    final_iteration: active && active.iteration > 0 ? active.iteration : null, final_residual_norm: active?.lastResidual ?? null,
    message: `no input for ${Math.round((streamTime - s.lastActivity) / 1e6)} s of event time (idle timeout ${idleTimeoutMicros / 1e6} s)`,
  } };
}

/**
 * The tick a deferred flush waits for. Its id derives from the deferring record, not the
 * session's output counter: fold outputs must not depend on how folds and work interleave.
 */
export function tick(s: Open, ref: Pick<InputRef, 'eventId' | 'occurredAt'>): Output {
  return { topic: SEQUENCED_ON, event: {
    type: 'IterationSliceGranted', session_id: s.id, work: 1,
    meta: { event_id: derivedEventId(ref.eventId, 'tick'), correlation_id: s.id, causation_id: ref.eventId, occurred_at: ref.occurredAt, producer: PRODUCER, sequence: null },
  } };
}

/**
 * The tick again, for a session whose tick is pending after a restore: ticks are written outside
 * the transaction (processor.ts), so the one the fold asked for may never have been written. A
 * second tick only closes the deferred group where it lands, which a replay reads the same.
 */
export function tickAgain(s: Open, streamTime: number): Output {
  return tick(s, { eventId: derivedEventId(s.id, `retick:${s.outSeq}:${streamTime}`), occurredAt: streamTime });
}

/** Whether an output is the tick a deferred flush waits for (it is written outside the transaction). */
export const isTick = (o: Output): boolean => o.topic === SEQUENCED_ON && o.event.type === 'IterationSliceGranted';

/** The event id of the copy `sequenced` makes of the input with event id `eventId`. */
export const sequencedId = (eventId: string): string => derivedEventId(eventId, 'sequenced');

/** The copy of an input that makes its position a position in the cost partition. */
export function sequenced(e: Sequenced): Output[] {
  // Our own eviction notices are already in effect; only external closes are sequenced.
  if (e.type === 'SessionClosed' && e.meta.producer === PRODUCER) return [];
  const copy = { ...e, meta: { ...e.meta, event_id: sequencedId(e.meta.event_id), causation_id: e.meta.event_id, producer: PRODUCER } };
  return [{ topic: SEQUENCED_ON, event: copy }];
}
