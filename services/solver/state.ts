// A solver session's state: one case per stage of its life, each holding only what exists then.
//   assembling  opened, matrix chunks arriving; cost updates and commands already queue up
//   active      A, b and x in a kernel, the solve under way or owed, counters
//   closed / rejected  a tombstone, so late inputs are ignored (or refused) and the end reported
import type {
  ConsensusNotReached, ConsensusReached, CorrectionRequested, CostUpdated, EntryEstimateRequested, MatrixChunkAppended, Preconditioner as WirePreconditioner,
  SessionOpened, SolverMethod, VerificationRequested,
} from '../../schemas/generated/events';
import type { Csr, Method, Preconditioner, SolverSession } from '../../wasm';

/** Last offset folded per `topic/partition`. */
export type Positions = Record<string, number>;

export const posKey = (ref: { topic: string; partition: number }) => `${ref.topic}/${ref.partition}`;

/** Where an input sits in the log, and its envelope facts the fold needs. */
export interface InputRef {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly eventId: string;
  /** meta.occurred_at, µs. */
  readonly occurredAt: number;
}

export const METHOD: Record<SolverMethod, Method> = { JACOBI: 'jacobi', GAUSS_SEIDEL: 'gauss_seidel', CG: 'cg', BICGSTAB: 'bicgstab', NEUMANN: 'neumann', HYBRID: 'hybrid' };
export const PRECOND: Record<WirePreconditioner, Preconditioner> = { NONE: 'none', JACOBI: 'jacobi', ILU: 'ilu0' };

/**
 * The updates of a cost group, kept flat as they are folded: a burst of 10,000 decoded events
 * held until the group closes outlived young-generation GC and cost more than folding them.
 * Applied in log order, so b gets the same additions in the same order as update by update.
 */
export interface PendingUpdates {
  count: number;
  /** Every update's b deltas, in log order. */
  readonly bIndex: number[];
  readonly bDelta: number[];
  /** Updates that edit A, in log order. */
  readonly edits: MatrixEdit[];
}

export interface MatrixEdit {
  readonly eventId: string;
  readonly occurredAt: number;
  readonly sourceNode: string;
  readonly updates: CostUpdated['matrix_updates'];
}

export const noUpdates = (): PendingUpdates => ({ count: 0, bIndex: [], bDelta: [], edits: [] });

export function addUpdate(p: PendingUpdates, u: CostUpdated): void {
  p.count++;
  for (let k = 0; k < u.delta_indices.length; k++) { p.bIndex.push(u.delta_indices[k]!); p.bDelta.push(u.delta_values[k]!); }
  if (u.matrix_updates.length > 0) p.edits.push({ eventId: u.meta.event_id, occurredAt: u.meta.occurred_at, sourceNode: u.source_node, updates: u.matrix_updates });
}

export interface CostGroup {
  readonly updates: PendingUpdates;
  /** Positions of the last record of the group. */
  readonly through: Positions;
  readonly last: InputRef;
}

export type Job =
  | { readonly kind: 'group'; readonly group: CostGroup }
  | { readonly kind: 'command'; readonly command: Command; readonly ref: InputRef };

/** What a session queues behind its cost groups: commands, verification and estimate requests, consensus results. */
export type Command = CorrectionRequested | VerificationRequested | EntryEstimateRequested | ConsensusReached | ConsensusNotReached;

/** The last consensus the session followed: what its outputs say of verification (seed 000 §2.3). */
export interface Verdict {
  /** Iteration of the solution the round judged. */
  readonly iteration: number;
  readonly verified: boolean;
  /** Share of the n groups that accepted x; null when the round did not count them. */
  readonly score: number | null;
  /** Agreement level; null when the round closed without agreement. */
  readonly agreement: number | null;
  readonly participants: number;
}

/** What a session has taken in and not yet worked off; the same before and after its matrix is complete. */
export interface Intake {
  /** Work units granted and not yet spent. */
  credits: number;
  /** Cost updates of the open group. */
  open: PendingUpdates;
  readonly jobs: Job[];
  /** Event time (µs) at which the last cost group closed (0: none yet): that of its latest update when it closed at a tick. */
  lastClose: number;
  /** The latest event time (µs) of a cost update the session took. */
  lastUpdateAt: number;
  /** The open group holds a flush that waits for a tick (minGroupIntervalMicros) ... */
  deferredFlush: boolean;
  /** ... and that tick is on its way. */
  tickPending: boolean;
}

export interface SolveState {
  /** Iterations of this solve so far. */
  done: number;
  sinceEmit: number;
  lastResidual: number;
  timeMs: number;
  readonly causation: string;
  readonly occurredAt: number;
  /** Set once the solve converged: iterations in a row under the tolerance, kernel iterations since. */
  confirm?: { below: number; done: number };
}

interface Opened {
  readonly id: string;
  readonly partition: number;
  readonly opened: SessionOpened;
  /** Input positions folded into the state the running / last solve started from. */
  readonly applied: Positions;
  /** Outputs so far: their event ids count them. */
  outSeq: number;
  lastActivity: number;
  readonly intake: Intake;
}

export interface Assembling extends Opened {
  readonly status: 'assembling';
  readonly chunks: Map<number, MatrixChunkAppended>;
}

export interface Active extends Opened {
  readonly status: 'active';
  readonly kernel: SolverSession;
  /** A as the kernel holds it (values follow applied edits) and b: cost deltas add to it. */
  readonly csr: Csr;
  readonly b: Float64Array;
  /** x at the previous IterationCompleted, for the largest changes. */
  prevX: Float64Array;
  method: Method;
  precond: Preconditioner;
  omega: number;
  /** The initial solve is owed (until the first work runs). */
  initialOwed: boolean;
  /** The solve under way; undefined while quiescent. */
  solve: SolveState | undefined;
  iteration: number;
  lastPublished: number;
  updatesApplied: number;
  conflicts: number;
  /** Residual of the last IterationCompleted; null before the first. */
  lastResidual: number | null;
  /** Iterations between IterationCompleted: the session's verification_interval as the consensus adapted it (seed 000 §5.5). */
  interval: number;
  verdict: Verdict | null;
}

export interface Ended {
  readonly status: 'closed' | 'rejected';
  readonly id: string;
  readonly partition: number;
  readonly opened: SessionOpened;
  /** The close's or the rejection's message. */
  readonly why: string;
  readonly iteration: number;
  readonly updatesApplied: number;
  readonly conflicts: number;
  readonly lastResidual: number | null;
}

export type SessionState = Assembling | Active | Ended;
/** The sessions that still take inputs. */
export type Open = Assembling | Active;

export const isOpen = (s: SessionState): s is Open => s.status === 'assembling' || s.status === 'active';

export function assembling(opened: SessionOpened, partition: number, ref: InputRef): Assembling {
  return {
    status: 'assembling', id: opened.session_id, partition, opened, applied: { [posKey(ref)]: ref.offset }, outSeq: 0,
    lastActivity: opened.meta.occurred_at, chunks: new Map(),
    intake: { credits: 0, open: noUpdates(), jobs: [], lastClose: 0, lastUpdateAt: 0, deferredFlush: false, tickPending: false },
  };
}

/** The matrix is complete and in `kernel` (b set): the initial solve is owed, paid by `work`. */
export function activate(s: Assembling, kernel: SolverSession, csr: Csr, b: Float64Array, work: number): Active {
  s.intake.credits += work;
  return {
    status: 'active', id: s.id, partition: s.partition, opened: s.opened, applied: s.applied, outSeq: s.outSeq,
    lastActivity: s.lastActivity, intake: s.intake, kernel, csr, b, prevX: kernel.readX(),
    method: METHOD[s.opened.method], precond: PRECOND[s.opened.options.preconditioner], omega: 1,
    initialOwed: true, solve: undefined, iteration: 0, lastPublished: -1, updatesApplied: 0, conflicts: 0, lastResidual: null,
    interval: s.opened.options.verification_interval, verdict: null,
  };
}

/** Frees the kernel memory; what is left is a small tombstone. */
export function end(s: Open, status: Ended['status'], why: string): Ended {
  if (s.status === 'active') s.kernel.free();
  const done = s.status === 'active' ? s : undefined;
  return {
    status, id: s.id, partition: s.partition, opened: s.opened, why,
    iteration: done?.iteration ?? 0, updatesApplied: done?.updatesApplied ?? 0, conflicts: done?.conflicts ?? 0, lastResidual: done?.lastResidual ?? null,
  };
}
