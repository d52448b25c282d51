// The solver service's processor: per input partition a PartitionCore, restored on assignment
// (latest partition snapshot + the committed tail), inputs folded and the work they pay for
// run inside the batch, so outputs commit with the offsets that caused them. A session whose
// solve needs more than its credits gets an IterationSliceGranted on solver.commands: the next
// slice is itself an input, batches stay short, and the group keeps heartbeating.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { IterationSliceGranted } from '../../schemas/generated/events';
import { poison } from '../runtime/errors';
import { derivedEventId } from '../runtime/ids';
import type { Logger } from '../runtime/logger';
import { isOneOf, type Emit, type Processor, type RecordContext } from '../runtime/processor';
import type { StructuralEmitter } from '../runtime/structural';
import { InputRejected, PartitionCore, iterationCost, type Output, type SolverEvent } from './domain';
import { isTick } from './outputs';
import { nonFiniteState, quiescent, snapshotEvents, snapshotKey } from './snapshot';

/** solver.verifications for the consensus results the session follows (the runner passes the rest over). */
export const INPUTS = ['solver.sessions', 'solver.costs', 'solver.commands', 'solver.verifications'] as const;
export const SNAPSHOTS = 'solver.snapshots';
/** The event types the solver takes: SolverEvent's, as data. */
export const SOLVER_INPUT_TYPES = [
  'SessionOpened', 'MatrixChunkAppended', 'SessionClosed', 'CostUpdated', 'CorrectionRequested', 'VerificationRequested', 'EntryEstimateRequested',
  'ConsensusReached', 'ConsensusNotReached', 'IterationSliceGranted',
] as const satisfies ReadonlyArray<SolverEvent['type']>;
/** An event of one of SOLVER_INPUT_TYPES (what restore and replay fold, like the runner hands the processor). */
export const isSolverInput = isOneOf(SOLVER_INPUT_TYPES);

export interface SolverProcessorOptions {
  /** A fresh (restored) core for a partition: snapshot + committed tail. */
  readonly restore: (partition: number) => Promise<PartitionCore>;
  readonly logger: Logger;
  readonly registry?: Registry;
  /** Work units per IterationSliceGranted (at least one iteration). */
  readonly sliceWork: number;
  /** Snapshot a partition after this many folded records ... */
  readonly snapshotEvery: number;
  /** ... or this much event time (µs), at the next point where no solve is half-way. */
  readonly snapshotMicros: number;
  /** Wall clock, only for slice event ids (their event time is the partition's). */
  readonly now?: () => number;
  /** Reports a slice far slower per work unit than the running median, or over slowSliceMs (runtime/structural.ts); outside the fold. */
  readonly structural?: StructuralEmitter;
  /** A slice that took longer than this (wall ms) is a structural event whatever the median says. */
  readonly slowSliceMs?: number;
  /**
   * Writes a tick onto the cost partition at once, outside the batch's transaction (a TickWriter).
   * A deferred flush's group closes where its tick lands: written in the transaction, the tick
   * could only be read back after the commit, and every deferred update paid a second commit
   * round trip. Where it lands is a fact of the log either way, so replay is unchanged; a tick of
   * a batch that aborts only closes a group where it lands, and one never written is written
   * again at restore (PartitionCore.pendingTicks). Without it, ticks commit with the batch.
   */
  readonly ticks?: TickSink;
}

export interface TickSink {
  write(tick: Emit): void;
  close(): Promise<void>;
}

interface Held {
  core: PartitionCore;
  sinceSnapshot: number;
  snapshotAt: number;
}

export function solverProcessor(o: SolverProcessorOptions): Processor<SolverEvent['type']> & { held(): ReadonlyMap<number, PartitionCore> } {
  const held = new Map<number, Held>();
  const stale = new Set<number>();
  const touched = new Set<number>();
  const sliceOutstanding = new Set<string>();
  const now = o.now ?? Date.now;
  let sliceSeq = 0;
  const m = metrics(o.registry);
  const log = o.logger.child({ component: 'solver' });

  async function restore(partition: number): Promise<Held> {
    const t0 = Date.now();
    const core = await o.restore(partition);
    for (const s of core.sessions.values()) sliceOutstanding.delete(s.id);
    const h = { core, sinceSnapshot: 0, snapshotAt: core.streamTime };
    held.set(partition, h);
    if (o.ticks) for (const t of toEmits(core.pendingTicks())) o.ticks.write(t);
    stale.delete(partition);
    log.info({ partition, sessions: core.sessions.size, folded: core.folded, ms: Date.now() - t0 }, 'partition restored');
    return h;
  }

  async function coreFor(partition: number): Promise<Held> {
    const h = held.get(partition);
    if (h && !stale.has(partition)) return h;
    h?.core.free();
    return restore(partition);
  }

  const toEmits = (outs: Output[]): Emit[] => outs.map((x) => ({
    topic: x.topic,
    key: x.event.type === 'ConflictReported' ? x.event.conflict_id : x.event.session_id,
    event: x.event,
  }));

  function count(outs: Output[]): void {
    for (const x of outs) {
      if (x.event.type === 'IterationCompleted') m.iterations.inc(x.event.iterations_in_batch);
      if (x.event.type === 'ConflictReported') m.conflicts.inc();
    }
  }

  function handleWith(h: Held, e: SolverEvent, ctx: RecordContext): Emit[] {
    // The restored state already holds it: the group's offsets were lost (deleted, expired) and
    // the consumer began again below the snapshot's position.
    if (Number(ctx.offset) <= (h.core.folded[ctx.topic] ?? -1)) {
      m.refolded.inc();
      return [];
    }
    try {
      h.core.check(e, ctx.topic);
    } catch (err) {
      if (err instanceof InputRejected) throw poison('REJECTED', err.message);
      throw err;
    }
    // The ticks sequenced onto solver.costs for deferred flushes are not the slices granted here.
    if (e.type === 'IterationSliceGranted' && ctx.topic === 'solver.commands') sliceOutstanding.delete(e.session_id);
    const before = h.core.updatesApplied(e.session_id);
    const outs = h.core.fold(e, { topic: ctx.topic, partition: ctx.partition, offset: Number(ctx.offset), eventId: e.meta.event_id, occurredAt: e.meta.occurred_at });
    // Only slices granted on solver.commands: a tick (1 work unit) on solver.costs runs the whole
    // re-solve of the group it closes, which per work unit looked millions of times slower than
    // the median and was reported as a RESOURCE_SPIKE.
    const slice = e.type === 'IterationSliceGranted' && ctx.topic === 'solver.commands';
    const t0 = o.structural && slice ? performance.now() : 0;
    outs.push(...h.core.work());
    if (t0 > 0 && e.type === 'IterationSliceGranted') {
      // Per million work units, so slices of different sizes compare; the wall time only
      // decides whether an observation is written, never what the fold does.
      const ms = performance.now() - t0;
      const what = `slice of session ${e.session_id} (${e.work} work units)`;
      // One observation per slice: over the fixed limit, it is not also compared with the median.
      const slow = o.slowSliceMs !== undefined && o.structural!.slow('solve_slice_ms', ms, o.slowSliceMs, what);
      if (!slow) o.structural!.sample('solve_slice_ms_per_mwork', (ms * 1e6) / Math.max(1, e.work), ms, what);
    }
    m.updates.inc(h.core.updatesApplied(e.session_id) - before);
    h.sinceSnapshot++;
    touched.add(ctx.partition);
    count(outs);
    return toEmits(o.ticks ? writeTicks(outs, o.ticks) : outs);
  }

  /** The outputs without their ticks, which are written at once. */
  function writeTicks(outs: Output[], sink: TickSink): Output[] {
    if (!outs.some(isTick)) return outs;
    for (const t of toEmits(outs.filter(isTick))) sink.write(t);
    return outs.filter((x) => !isTick(x));
  }

  return {
    name: 'solver',
    inputs: INPUTS,
    accepts: SOLVER_INPUT_TYPES,
    held: () => new Map([...held].map(([p, h]) => [p, h.core])),

    handle(event: SolverEvent, ctx: RecordContext): Emit[] | Promise<Emit[]> {
      // No promise per record when the partition's core is at hand (bursts of 50,000/s).
      const h = held.get(ctx.partition);
      if (h && !stale.has(ctx.partition)) return handleWith(h, event, ctx);
      return coreFor(ctx.partition).then((restored) => handleWith(restored, event, ctx));
    },

    flush(): Emit[] {
      const out: Emit[] = [];
      for (const p of touched) {
        const h = held.get(p);
        if (!h) continue;
        for (const s of h.core.starving()) {
          if (sliceOutstanding.has(s.id)) continue;
          sliceOutstanding.add(s.id);
          // A slice carries the partition's event time, not the wall clock: a wall-clock slice
          // moved stream time to now and evicted the partition's other sessions as idle when
          // their producers' event times were older (SOLVER_IDLE_TIMEOUT_S is event time).
          const ev: IterationSliceGranted = {
            type: 'IterationSliceGranted',
            meta: { event_id: derivedEventId(s.id, `slice:${process.pid}:${now()}:${sliceSeq++}`), correlation_id: s.id, causation_id: null, occurred_at: h.core.streamTime, producer: 'solver', sequence: null },
            session_id: s.id, work: Math.max(Math.min(o.sliceWork, h.core.limits.maxSliceWork), iterationCost(s)),
          };
          out.push({ topic: 'solver.commands', key: s.id, event: ev });
        }
        const due = h.sinceSnapshot >= o.snapshotEvery || (h.sinceSnapshot > 0 && h.core.streamTime - h.snapshotAt >= o.snapshotMicros);
        const poisoned = due && quiescent(h.core) ? nonFiniteState(h.core) : undefined;
        if (poisoned) log.error({ partition: p, reason: poisoned }, 'partition not snapshotted: its state holds a non-finite value');
        else if (due && quiescent(h.core)) {
          const events = snapshotEvents(h.core, h.core.streamTime);
          events.forEach((ev, c) => out.push({ topic: SNAPSHOTS, key: snapshotKey(p, c), event: ev }));
          h.sinceSnapshot = 0;
          h.snapshotAt = h.core.streamTime;
          m.snapshots.inc();
        }
        let live = 0;
        for (const s of h.core.sessions.values()) if (s.status === 'active') live++;
        m.sessions.set({ partition: String(p) }, live);
      }
      touched.clear();
      return out;
    },

    onAbort(): void {
      // In-memory state ran ahead of what committed: rebuild from the log before the next record.
      for (const p of held.keys()) stale.add(p);
      sliceOutstanding.clear();
      touched.clear();
    },

    async onAssigned(list): Promise<void> {
      m.assignments.inc();
      const parts = [...new Set(list.map((x) => x.partition))].filter((p) => !held.has(p) || stale.has(p));
      // Side by side: each restore mostly waits on the broker.
      await Promise.all(parts.map((p) => coreFor(p)));
    },

    onRevoked(list): void {
      m.revocations.inc();
      for (const p of new Set(list.map((x) => x.partition))) {
        const h = held.get(p);
        h?.core.free();
        held.delete(p);
        stale.delete(p);
      }
    },

    async close(): Promise<void> {
      for (const h of held.values()) h.core.free();
      held.clear();
      await o.structural?.close();
      await o.ticks?.close();
    },
  };
}

function metrics(registry?: Registry) {
  const reg = registry ? [registry] : [];
  return {
    updates: new Counter({ name: 'solver_cost_updates_applied_total', help: 'CostUpdated records applied to sessions.', registers: reg }),
    iterations: new Counter({ name: 'solver_iterations_total', help: 'Solver iterations run.', registers: reg }),
    conflicts: new Counter({ name: 'solver_conflicts_total', help: 'Matrix updates refused for a stale old_value.', registers: reg }),
    refolded: new Counter({ name: 'solver_inputs_already_folded_total', help: 'Input records skipped because the restored state had folded them (consumer offsets behind the snapshot).', registers: reg }),
    snapshots: new Counter({ name: 'solver_snapshots_total', help: 'Partition snapshots written.', registers: reg }),
    // A long solve must not cost the group its members (issue 5): every rebalance shows here.
    assignments: new Counter({ name: 'solver_partition_assignments_total', help: 'Group rebalances that assigned partitions to this instance.', registers: reg }),
    revocations: new Counter({ name: 'solver_partition_revocations_total', help: 'Group rebalances that took partitions from this instance.', registers: reg }),
    sessions: new Gauge({ name: 'solver_sessions_live', help: 'Sessions holding kernel memory, by input partition.', labelNames: ['partition'], registers: reg }),
  };
}
