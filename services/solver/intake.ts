// How a session takes its inputs: opened (or rejected with the true reason), its matrix
// assembled from chunks and handed to the kernel, cost updates coalesced into groups, commands
// queued, closes applied, all in the order of the session's cost partition.
import type {
  ConsensusNotReached, ConsensusReached, CorrectionRequested, CostUpdated, EntryEstimateRequested, IterationSliceGranted, MatrixChunkAppended, RejectionReason,
  SessionClosed, SessionOpened, VerificationRequested,
} from '../../schemas/generated/events';
import { KernelError, checkMethodOptions, type KernelErrorCode, type KernelFactory, type SolverSession } from '../../wasm';
import type { SolverLimits } from './limits';
import { assemble, entryIndex } from './matrix';
import { sessionRejected, tick, type Output, type Rejection, type Sequenced } from './outputs';
import {
  METHOD, PRECOND, activate, addUpdate, assembling, end, noUpdates, posKey, type Assembling, type Ended, type InputRef, type Intake, type Open,
  type SessionState,
} from './state';

export type SolverEvent =
  | SessionOpened | MatrixChunkAppended | SessionClosed | CostUpdated
  | CorrectionRequested | VerificationRequested | EntryEstimateRequested | ConsensusReached | ConsensusNotReached | IterationSliceGranted;

/** Why a record can never apply; the processor dead-letters it. */
export class InputRejected extends Error {}

export interface IntakeEnv {
  readonly limits: SolverLimits;
  /** Opens the kernel session for a complete matrix. */
  readonly kernel: KernelFactory;
}

/**
 * What a session is rejected with when the kernel refuses its matrix. b arrives in the matrix
 * chunks, so a b the kernel refuses (non-finite) is an invalid matrix too.
 */
const MATRIX_REJECTION: Record<KernelErrorCode, RejectionReason> = {
  MATRIX_TOO_LARGE: 'TOO_LARGE',
  MATRIX_INVALID: 'INVALID_MATRIX',
  BAD_ARGUMENT: 'INVALID_MATRIX',
};

function reject(s: Open, r: Rejection, ref: InputRef, out: Output[]): Ended {
  out.push(sessionRejected(s, r, ref));
  return end(s, 'rejected', r.message);
}

/** A new session, assembling, or rejected at once when it can never be solved here. */
export function opened(e: SessionOpened, partition: number, ref: InputRef, limits: SolverLimits, out: Output[]): Assembling | Ended {
  const s = assembling(e, partition, ref);
  const over = e.rows > limits.maxRows ? { what: 'rows', limit: limits.maxRows, actual: e.rows }
    : e.nnz > limits.maxNnz ? { what: 'nnz', limit: limits.maxNnz, actual: e.nnz } : undefined;
  if (over) {
    const message = `${over.what} ${over.actual} is over the solver limit ${over.limit} (SOLVER_MAX_${over.what.toUpperCase()})`;
    return reject(s, { reason: 'TOO_LARGE', message, limit: over.limit, actual: over.actual }, ref, out);
  }
  if (e.rows !== e.cols) return reject(s, { reason: 'DIMENSION_MISMATCH', message: `rows ${e.rows} != cols ${e.cols}: the solver takes square systems` }, ref, out);
  try {
    checkMethodOptions({ method: METHOD[e.method], precond: PRECOND[e.options.preconditioner], tol: e.options.tolerance });
  } catch (err) {
    // The schema has no symbol for bad options; the method cannot run as asked.
    if (err instanceof KernelError) return reject(s, { reason: 'UNSUPPORTED_METHOD', message: `options: ${err.detail}` }, ref, out);
    throw err;
  }
  return s;
}

/** A row block; the last one makes the session active, or rejected with the kernel's reason. */
export function onChunk(s: Assembling, e: MatrixChunkAppended, ref: InputRef, env: IntakeEnv, out: Output[]): SessionState {
  s.applied[posKey(ref)] = ref.offset;
  const o = s.opened;
  if (e.rows !== o.rows || e.cols !== o.cols || e.chunk_count !== o.chunk_count) {
    const message = `chunk ${e.chunk_index} says ${e.rows}x${e.cols} in ${e.chunk_count} chunks, the session ${o.rows}x${o.cols} in ${o.chunk_count}`;
    return reject(s, { reason: 'DIMENSION_MISMATCH', message }, ref, out);
  }
  s.chunks.set(e.chunk_index, e);
  if (s.chunks.size < o.chunk_count) return s;
  const built = assemble(o, s.chunks);
  if (typeof built === 'string') return reject(s, { reason: 'INVALID_MATRIX', message: built }, ref, out);
  let kernel: SolverSession | undefined;
  try {
    kernel = env.kernel(built.csr);
    kernel.requireApplicable(METHOD[o.method], PRECOND[o.options.preconditioner]);
    kernel.setB(built.b);
  } catch (err) {
    kernel?.free();
    if (!(err instanceof KernelError)) throw err;
    return reject(s, { reason: MATRIX_REJECTION[err.code], message: err.detail, limit: err.size?.limit, actual: err.size?.actual }, ref, out);
  }
  return activate(s, kernel, built.csr, built.b, env.limits.recordWork);
}

/**
 * A record of the session's cost partition, in that partition's order. `out` takes the tick a
 * deferred flush asks for.
 */
export function onSequenced(s: Open, e: CostUpdated | Sequenced, ref: InputRef, limits: SolverLimits, out: Output[]): SessionState {
  if (e.type === 'SessionClosed') return end(s, 'closed', e.message ?? e.reason);
  const intake = s.intake;
  intake.credits += limits.recordWork;
  if (e.type !== 'CostUpdated') { intake.jobs.push({ kind: 'command', command: e, ref }); return s; }
  addUpdate(intake.open, e);
  intake.lastUpdateAt = Math.max(intake.lastUpdateAt, ref.occurredAt);
  if (intake.open.count >= limits.coalesceMax) { closeGroup(intake, ref); return s; }
  if (!e.flush) return s;
  // While a tick is on its way every flush waits for it, so at most two groups close per round
  // trip through the broker, which grows with the solver's backlog (flushes that only had to be
  // the interval apart closed 200 groups/s whatever the backlog). The tick's place in the cost
  // partition is where the group closes, on every replay.
  if (intake.tickPending) { intake.deferredFlush = true; return s; }
  const early = ref.occurredAt - intake.lastClose < limits.minGroupIntervalMicros;
  closeGroup(intake, ref);
  // An early flush still closes at once (a producer the solver keeps up with waits for no round
  // trip on every other update); the flushes after it wait for the tick it asks for.
  if (early) {
    intake.tickPending = true;
    out.push(tick(s, ref));
  }
  return s;
}

/** A slice of work; on the cost partition it is the solver's tick, where a deferred flush closes its group. */
export function onSlice(s: Open, e: IterationSliceGranted, ref: InputRef, sequenced: boolean): void {
  s.intake.credits += e.work;
  if (!sequenced) return;
  s.intake.tickPending = false;
  if (s.intake.deferredFlush) closeGroup(s.intake, ref);
}

function closeGroup(intake: Intake, ref: InputRef): void {
  intake.jobs.push({ kind: 'group', group: { updates: intake.open, through: { [posKey(ref)]: ref.offset }, last: ref } });
  intake.open = noUpdates();
  // A tick carries the time of the flush that asked for it, which is stale by the round trip:
  // measured from it, every flush after a late tick came "late enough" and closed its own group,
  // so a solver that fell behind got one re-solve per update and fell further behind.
  intake.lastClose = Math.max(ref.occurredAt, intake.lastUpdateAt);
  intake.deferredFlush = false;
}

/** A cost update that can never apply to `s`: the processor dead-letters it. */
export function checkCost(e: CostUpdated, s: Open): void {
  const n = s.opened.rows, cols = s.opened.cols;
  for (const i of e.delta_indices) if (i < 0 || i >= n) throw new InputRejected(`delta index ${i} is outside the ${n}-row session ${s.id}`);
  e.matrix_updates.forEach((m, k) => {
    if (m.row >= n || m.col >= cols) throw new InputRejected(`matrix_updates[${k}] (${m.row}, ${m.col}) is outside the ${n}x${cols} matrix of session ${s.id}`);
    if (!Number.isFinite(m.new_value)) throw new InputRejected(`matrix_updates[${k}].new_value is not finite`);
    if (s.status === 'active' && entryIndex(s.csr, m.row, m.col) < 0) throw new InputRejected(`matrix_updates[${k}] (${m.row}, ${m.col}) is not in the sparsity pattern of session ${s.id} (adding structure needs a new session)`);
  });
}
