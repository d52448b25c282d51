// The solver's pure core: the sessions of one input partition as a fold of their inputs, and
// the iteration work those inputs pay for. No Kafka, clock or randomness: the kernel is a value
// (a factory), time is the inputs' event time.
//
// Determinism (DESIGN invariant 3) rests on three rules:
//  1. Coalescing groups are a pure function of the log: a group of cost updates closes at a
//     record with `flush`, at the coalesce_max-th record, or (for a flush too soon after the
//     previous group while a tick is on its way) at the tick the core itself sequenced into the
//     cost partition; never at a fetch boundary.
//  2. Work is credit-paid: every input grants work units (a fixed amount per record, the amount
//     written in an IterationSliceGranted), one iteration costs nnz + n. Work runs greedily in
//     a fixed order (initial solve, then each command / group once the previous solve ended),
//     so after any set of inputs the progress is min(credits, closed work): independent of how
//     the inputs were batched or interleaved. A restart that refolds the committed inputs is
//     therefore exactly where the committed outputs left off.
//  3. Outputs depend on iteration counts only (IterationCompleted every `interval` iterations of
//     a solve and at its end), never on how the work was sliced. The interval changes only at a
//     consensus result's turn in the job queue, so at the same iteration on every replay.
//
// Intake (intake.ts) takes the inputs, work (work.ts) runs the solves, outputs.ts builds the
// events; the session state is a union by stage (state.ts).
import type { CostUpdated, IterationSliceGranted, SessionOpened } from '../../schemas/generated/events';
import type { KernelFactory } from '../../wasm';
import { checkEstimate } from './estimate';
import { checkCost, InputRejected, onChunk, onSequenced, onSlice, opened, type SolverEvent } from './intake';
import type { Clock, SolverLimits } from './limits';
import { SEQUENCED_ON, duplicateRejected, sequenced, sessionEvicted, sessionFailed, tickAgain, type Output, type Sequenced } from './outputs';
import { end, isOpen, type Active, type InputRef, type Positions, type SessionState } from './state';
import { hasWork, iterationCost, workSession } from './work';

export { DEFAULT_SOLVER_LIMITS, type Clock, type SolverLimits } from './limits';
export { InputRejected, type SolverEvent } from './intake';
export { PRODUCER, SEQUENCED_ON, positionsToWire, type Output, type Sequenced } from './outputs';
export type { Active, Assembling, Ended, InputRef, Positions, SessionState } from './state';
export { hasWork, iterationCost } from './work';

export type Orphan = { event: CostUpdated | Sequenced | IterationSliceGranted; ref: InputRef };

/**
 * A client's inputs, refused once their session ended. The verifiers' corrections and consensus
 * results and the solver's slices race a close as a matter of course: passed over, not dead letters.
 */
const REFUSED_WHEN_ENDED: ReadonlySet<SolverEvent['type']> = new Set(['MatrixChunkAppended', 'CostUpdated', 'VerificationRequested', 'EntryEstimateRequested']);
/** Cost-partition records held for a session not open yet. */
const ORPHANED: ReadonlySet<SolverEvent['type']> = new Set(['CostUpdated', 'CorrectionRequested', 'VerificationRequested', 'EntryEstimateRequested', 'ConsensusReached', 'ConsensusNotReached', 'SessionClosed', 'IterationSliceGranted']);

/** All sessions of one input partition. */
export class PartitionCore {
  readonly sessions = new Map<string, SessionState>();
  /** Last offset folded per input topic of this partition (the snapshot position). */
  readonly folded: Positions = {};
  /** Cost-partition inputs for sessions not assembled yet (cross-topic order), replayed then. */
  readonly orphans = new Map<string, Orphan[]>();
  /** Inputs whose copy on the cost partition a previous run already wrote (restore.ts markSequenced); not copied again. */
  private readonly copied = new Set<string>();
  /** Records held in `orphans`, against limits.maxOrphans. */
  private orphanCount = 0;
  streamTime = 0;

  constructor(
    readonly partition: number,
    readonly limits: SolverLimits,
    /** Opens a kernel session for each complete matrix (and each restored one). */
    readonly kernel: KernelFactory,
    readonly clock: Clock = { now: () => 0 },
  ) {}

  /**
   * Checks a record of `topic` before it is folded; throws InputRejected for records that can
   * never apply. Without a topic, a CostUpdated is taken to be on the cost partition.
   */
  check(event: SolverEvent, topic?: string): void {
    const s = this.sessions.get(event.session_id);
    if (s && !isOpen(s) && REFUSED_WHEN_ENDED.has(event.type)) {
      // A session's inputs after its end would otherwise be passed over without a trace.
      const state = s.status === 'rejected' ? 'was rejected' : 'is closed';
      throw new InputRejected(`session ${event.session_id} ${state} (${s.why}): its ${event.type} is not applied`);
    }
    if (event.type === 'MatrixChunkAppended' && s?.status !== 'assembling') {
      // Chunks follow their SessionOpened on the same partition of solver.sessions.
      throw new InputRejected(s ? `session ${event.session_id} already has its matrix: chunk ${event.chunk_index} is not applied` : `session ${event.session_id} was never opened: its chunk ${event.chunk_index} is not applied`);
    }
    if (event.type === 'CostUpdated' && s && isOpen(s)) checkCost(event, s);
    if (event.type === 'EntryEstimateRequested') checkEstimate(event, s);
    if (event.type === 'IterationSliceGranted') this.checkSlice(event, s);
    if (!s && ORPHANED.has(event.type) && (topic ?? (event.type === 'CostUpdated' ? SEQUENCED_ON : undefined)) === SEQUENCED_ON) {
      // Held in memory until the session opens, so bounded per session and per partition; the
      // overflow goes to the DLQ with the reason rather than being dropped, and can be re-sent
      // once the session is open.
      if ((this.orphans.get(event.session_id)?.length ?? 0) >= this.limits.coalesceMax) {
        throw new InputRejected(`session ${event.session_id} is not open yet and ${this.limits.coalesceMax} of its records already wait for it (SOLVER_COALESCE_MAX)`);
      }
      if (this.orphanCount >= this.limits.maxOrphans) {
        throw new InputRejected(`session ${event.session_id} is not open, and ${this.orphanCount} records of sessions not open yet already wait on partition ${this.partition} (SOLVER_MAX_ORPHANS)`);
      }
    }
  }

  private checkSlice(e: IterationSliceGranted, s: SessionState | undefined): void {
    // One iteration of the session is always grantable, or a large session could never run.
    const iteration = s ? s.opened.nnz + s.opened.rows : 0;
    const max = Math.max(this.limits.maxSliceWork, iteration);
    if (!Number.isSafeInteger(e.work) || e.work < 0 || e.work > max) {
      throw new InputRejected(`IterationSliceGranted work ${e.work} is over the slice limit ${max} (SOLVER_MAX_SLICE_WORK, or one iteration of the session) or not a count of work units`);
    }
  }

  /** Folds one input; returns the outputs it causes directly (rejections, copies, ticks, evictions). Never throws on a fact. */
  fold(event: SolverEvent, ref: InputRef): Output[] {
    this.folded[ref.topic] = Math.max(this.folded[ref.topic] ?? -1, ref.offset);
    if (ref.occurredAt > this.streamTime) this.streamTime = ref.occurredAt;
    const out: Output[] = [];
    const s = this.sessions.get(event.session_id);
    const live = s && isOpen(s) ? s : undefined;
    if (live) live.lastActivity = Math.max(live.lastActivity, ref.occurredAt);
    switch (event.type) {
      case 'SessionOpened':
        if (!s) this.onOpened(event, ref, out);
        // The same record again (a producer's retry) is no new fact; another open of the id is refused.
        else if (s.opened.meta.event_id !== event.meta.event_id) out.push(duplicateRejected(event, s, ref));
        break;
      case 'MatrixChunkAppended':
        if (live?.status === 'assembling') this.put(onChunk(live, event, ref, this, out));
        break;
      case 'CostUpdated':
      case 'CorrectionRequested':
      case 'VerificationRequested':
      case 'ConsensusReached':
      case 'ConsensusNotReached':
      case 'EntryEstimateRequested':
      case 'SessionClosed':
        if (event.type !== 'CostUpdated' && ref.topic !== SEQUENCED_ON) { if (!this.copied.delete(event.meta.event_id)) out.push(...sequenced(event)); }
        else if (!s) this.orphan(event, ref);
        else if (live) this.put(onSequenced(live, event, ref, this.limits, out));
        break;
      case 'IterationSliceGranted':
        if (live) onSlice(live, event, ref, ref.topic === SEQUENCED_ON);
        else if (!s && ref.topic === SEQUENCED_ON) this.orphan(event, ref);
        break;
      default: { const never: never = event; void never; }
    }
    out.push(...this.evictIdle(ref));
    return out;
  }

  private put(s: SessionState): void {
    this.sessions.set(s.id, s);
  }

  private onOpened(e: SessionOpened, ref: InputRef, out: Output[]): void {
    let s: SessionState = opened(e, this.partition, ref, this.limits, out);
    this.put(s);
    // Records of its cost partition folded before the session: they precede every later one, and
    // defer and tick exactly as if the session had been open (a replay may interleave otherwise).
    for (const o of this.orphans.get(s.id) ?? []) {
      if (!isOpen(s)) break;
      if (o.event.type === 'IterationSliceGranted') { onSlice(s, o.event, o.ref, true); continue; }
      if (o.event.type === 'CostUpdated') {
        try { checkCost(o.event, s); } catch { continue; /* dead-lettered at its own fold */ }
      }
      s = onSequenced(s, o.event, o.ref, this.limits, out);
      this.put(s);
    }
    this.orphanCount -= this.orphans.get(e.session_id)?.length ?? 0;
    this.orphans.delete(e.session_id);
  }

  private orphan(e: Orphan['event'], ref: InputRef): void {
    this.holdOrphans(e.session_id, [{ event: e, ref }]); // check() refuses records past the budgets
  }

  /** Holds records for a session not open yet (also a restored snapshot's). */
  holdOrphans(sessionId: string, list: readonly Orphan[]): void {
    const held = this.orphans.get(sessionId) ?? [];
    held.push(...list);
    this.orphans.set(sessionId, held);
    this.orphanCount += list.length;
  }

  /** The input with this event id has its copy on the cost partition already. */
  markSequenced(eventId: string): void {
    this.copied.add(eventId);
  }

  /** Stream time moved on a record of another session (replay of one session). */
  observe(ref: InputRef): Output[] {
    if (ref.occurredAt > this.streamTime) this.streamTime = ref.occurredAt;
    return this.evictIdle(ref);
  }

  private evictIdle(ref: InputRef): Output[] {
    const out: Output[] = [];
    for (const s of this.sessions.values()) {
      if (!isOpen(s) || this.streamTime - s.lastActivity <= this.limits.idleTimeoutMicros) continue;
      const notice = sessionEvicted(s, this.streamTime, this.limits.idleTimeoutMicros, ref);
      out.push(notice);
      this.put(end(s, 'closed', notice.event.message ?? 'idle'));
    }
    return out;
  }

  /** Ticks again for every session whose deferred flush waits on one (after a restore: a tick written outside the transaction can be lost). */
  pendingTicks(): Output[] {
    const out: Output[] = [];
    for (const s of this.sessions.values()) if (isOpen(s) && s.intake.tickPending) out.push(tickAgain(s, this.streamTime));
    return out;
  }

  /** Sessions that owe work they have no credit for (the processor grants them a slice). */
  starving(): Active[] {
    const out: Active[] = [];
    for (const s of this.sessions.values()) if (s.status === 'active' && hasWork(s) && s.intake.credits < iterationCost(s)) out.push(s);
    return out;
  }

  /** Runs every session's work as far as its credits go; a session whose values turned non-finite ends FAILED. */
  work(): Output[] {
    const out: Output[] = [];
    for (const s of this.sessions.values()) {
      if (s.status !== 'active') continue;
      const failed = workSession(s, this, out);
      if (failed) this.fail(s, failed, out);
    }
    return out;
  }

  /** Ends an active session whose state can no longer be trusted (SessionClosed FAILED). */
  fail(s: Active, f: { message: string; causation: string; occurredAt: number }, out: Output[]): void {
    out.push(sessionFailed(s, f));
    this.put(end(s, 'closed', f.message));
  }

  /** Cost updates applied to the session so far (0 while assembling). */
  updatesApplied(sessionId: string): number {
    const s = this.sessions.get(sessionId);
    return s && s.status !== 'assembling' ? s.updatesApplied : 0;
  }

  /** Releases every kernel (the partition was revoked, or its state ran ahead of the log). */
  free(): void {
    for (const s of this.sessions.values()) if (s.status === 'active') s.kernel.free();
  }
}
