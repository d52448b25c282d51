// The impedance processor, wired: mesh.heartbeats and mesh.agent-acks folded per partition
// (fold-lifecycle.ts), the folds projected into the Redis registry (registry-writer.ts) and
// checkpointed to the mesh.impedance changelog (checkpointer.ts), and the reactors: coordination
// requests answered with send schedules, acks repartitioned by agent (and measured where they
// are folded), 5 s ticks
// answered with summaries, the guardian's decisions kept for the schedules (restrictions.ts).
// Periodic registry work runs in the runner's punctuation.
import type { StructuralEmitter } from '../runtime/structural';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AckReceived, ConflictReported, CoordinationRequested, HeartbeatReceived, MeshHealRequested, SummaryDue } from '../../schemas/generated/events';
import { topicSpec, type TopicName } from '../../topics/catalog';
import { poison, unreachable } from '../runtime/errors';
import { decimal, type Emit, type Processor, type RecordContext } from '../runtime/processor';
import { ackReactor } from './ack-reactor';
import { queueCrossing } from './agent-structural';
import { COPIED_SOURCES, type CopiedBeforeFn } from './copied-before';
import { ackTail, createCheckpointer, heartbeatTail, type CommittedFn, type ReadAckTailFn, type ReadTailFn, type RestoreFn } from './checkpointer';
import { FoldLifecycle, type OwnedPartition } from './fold-lifecycle';
import { evolveGate, OPEN_GATE, type GateEvent, type GateState } from './coordination-gate';
import { refusal, sequencedCopies, type FreezeEvent } from './freeze';
import { SequencedGate, type RestoreGateFn } from './freeze-gate';
import { copiesInto } from './sequenced-copies';
import type { AckMeasure } from './accuracy';
import { createImpedanceMetrics, registerBacklogGauge, type ImpedanceMetrics } from './metrics';
import { PartitionFold, type ApplyResult } from './partition-fold';
import type { RegistryStore } from './registry-store';
import { createRegistryWriter } from './registry-writer';
import { recordDecision, RESTRICTION_INPUT_TYPES } from './restrictions';
import { scheduleReactor } from './schedule-reactor';
import { dueTickOf, mergeMarks, QUIET_PARTITION_MS, reachedTickOf, summaryTickOf, type PartitionMark } from './summary-clock';
import type { SummaryDueTimer } from './summary-due';
import { summaryReactor } from './summary-reactor';

const HEARTBEATS: TopicName = 'mesh.heartbeats';
const COORDINATION: TopicName = 'mesh.coordination';
const ACKS: TopicName = 'mesh.acks';
const AGENT_ACKS: TopicName = 'mesh.agent-acks';
const CHANGELOG: TopicName = 'mesh.impedance';
const CIRCUITS: TopicName = 'mesh.circuits';
const WITNESSES: TopicName = 'mesh.witnesses';

const NO_EMITS: readonly Emit[] = Object.freeze([]);
const circuitsAt = (ctx: RecordContext) => ({ partition: ctx.partition, offset: decimal(ctx.offset) });

export interface ImpedanceProcessorDeps {
  readonly store: RegistryStore;
  readonly restore: RestoreFn;
  readonly readTail: ReadTailFn;
  /** The group's committed heartbeat offsets, so the tail is replayed at assignment (else at the first record). */
  readonly committed?: CommittedFn;
  /** The same for mesh.agent-acks (the acks after the checkpoint). */
  readonly readAckTail?: ReadAckTailFn;
  readonly committedAcks?: CommittedFn;
  readonly logger: Logger;
  /** The heartbeat partition whose owner emits the 5 s summaries (one emitter per mesh). */
  readonly summaryPartition?: number;
  /** Where the processor's metrics go; the service passes its own so /metrics shows them. */
  readonly registry?: Registry;
  /** Wall clock (ms) for the write and checkpoint intervals. */
  readonly now?: () => number;
  /** Longest time between registry writes near the live edge (default 1000 ms); further behind, see registryInterval. */
  readonly registryLagMs?: number;
  /** Time between changelog checkpoints (default 10,000 ms; 0: every batch). It bounds the heartbeats a new owner replays. */
  readonly checkpointMs?: number;
  /** A batch whose last heartbeat was written to Kafka less than this long ago is at the end of the log: write Redis now (default 5000 ms; 0 never). */
  readonly caughtUpMs?: number;
  /**
   * With no batch for this long, unwritten changes are written at once; also the punctuation
   * interval (default registryLagMs; 0: no punctuation). Not much shorter: a catching-up
   * service's batches can be that far apart (a commit, a fetch, a pause), and each early write
   * costs a full one.
   */
  readonly idleWriteMs?: number;
  /** Structural events (slow Redis writes) onto mesh.witnesses, outside the transactions (runtime/structural.ts). */
  readonly structural?: StructuralEmitter;
  /** A mesh.coordination partition's gate (freeze, approvals) at the group's committed offset; without it a partition starts open. */
  readonly restoreGate?: RestoreGateFn<GateState>;
  /** Agents not heard from whose acks a partition holds (default MAX_PENDING_ACK_AGENTS); acks of more are dead-lettered. */
  readonly maxPendingAckAgents?: number;
  /** The inputs already copied onto mesh.agent-acks, when the group lost its offsets of their topics (copied-before.ts). */
  readonly copiedBefore?: CopiedBeforeFn;
  /** An agent's queue depth crossing this is a QUEUE_DEPTH structural event (agent-structural.ts); 0 or absent: none. */
  readonly agentQueueLimit?: number;
  /** Writes a SummaryDue onto the summary partition when a tick reached stays unsummarised (summary-due.ts); without it, the next crossing looks again. */
  readonly summaryDue?: SummaryDueTimer;
}

/** The event types the impedance processor takes (AckReceived on mesh.acks and mesh.agent-acks; ConflictReported copies of own-key offences on mesh.agent-acks; SummaryDue on mesh.heartbeats). */
export const IMPEDANCE_INPUT_TYPES = ['HeartbeatReceived', 'SummaryDue', 'CoordinationRequested', 'CoordinationApproved', 'AckReceived', ...RESTRICTION_INPUT_TYPES, 'MeshHealRequested', 'ConflictReported'] as const;
export const HEAL_COPY_PREFIX = 'mesh-heal:';

export type ImpedanceProcessor = Processor<(typeof IMPEDANCE_INPUT_TYPES)[number]> & {
  readonly metrics: ImpedanceMetrics;
  folds(): ReadonlyMap<number, PartitionFold>;
  /** Waits for registry writes under way (before closing Redis). */
  drain(): Promise<void>;
  /** Agents whose latest state is not known to be in Redis yet (changed since the last write, or a failed one). */
  registryBacklog(): number;
  /** Waits for the writes under way. */
  close(): Promise<void>;
};

export function impedanceProcessor(deps: ImpedanceProcessorDeps): ImpedanceProcessor {
  const { store } = deps;
  const log = deps.logger.child({ component: 'impedance' });
  const summaryPartition = deps.summaryPartition ?? 0;
  const now = deps.now ?? Date.now;
  const registryLagMs = deps.registryLagMs ?? 1000;
  const checkpointMs = deps.checkpointMs ?? 10_000;
  const idleWriteMs = deps.idleWriteMs ?? registryLagMs;
  const queueLimit = deps.agentQueueLimit ?? 0;
  const metrics = createImpedanceMetrics(deps.registry);
  const writer = createRegistryWriter({
    store, metrics, log, registryLagMs, checkpointMs, caughtUpMs: deps.caughtUpMs ?? 5000, idleWriteMs, startMs: now(),
    ...(deps.structural ? { structural: deps.structural } : {}),
  });
  const checkpointer = createCheckpointer({
    restore: deps.restore, checkpointMs, log, maxPendingAckAgents: deps.maxPendingAckAgents,
    tails: { heartbeats: heartbeatTail(deps.readTail, deps.committed), ...(deps.readAckTail ? { acks: ackTail(deps.readAckTail, deps.committedAcks) } : {}) },
  });
  const folds = new FoldLifecycle((partition) => ({ partition, fold: new PartitionFold(deps.maxPendingAckAgents), registry: writer.cursor(now()), changelog: checkpointer.cursor(now()) }));
  registerBacklogGauge(metrics, () => writer.backlog(folds.all()));
  const schedule = scheduleReactor(store);
  const gate = new SequencedGate<GateState, GateEvent>(OPEN_GATE, evolveGate, deps.restoreGate);
  const coordinationPartitions = topicSpec(COORDINATION).partitions;
  const agentAckPartitions = topicSpec(AGENT_ACKS).partitions;
  const onAck = ackReactor(store);
  /** Arrivals the folds measured, per partition, observed in the metrics once their transaction commits. */
  const measured = new Map<number, AckMeasure[]>();
  const summaries = summaryReactor(store);
  /** An owned partition's watermark crossed a 5 s tick in the batch: summaries are looked at in flush. */
  let crossed = false;
  /** The tick of the last summaries emitted, and before the batch (restored when it aborts). */
  let summarizedTick = -Infinity;
  let summarizedBefore = -Infinity;
  /** The tick of a SummaryDue read in the batch (summary-due.ts). */
  let dueTick = -Infinity;
  /** Records behind each owned heartbeat partition's high watermark at its last commit. */
  const heartbeatLag = new Map<number, number>();
  /**
   * Wall ms of the last batch with heartbeats, and of the first after a quiet spell (or ever): a
   * partition is not quiet before it had QUIET_PARTITION_MS to show records since heartbeats
   * resumed (the others' records of a burst may be read first).
   */
  let lastBeatsMs = -Infinity;
  let resumedMs = -Infinity;
  let beats = false;
  /** Outputs of flush steps that succeeded, kept when a later step fails and flush is retried. */
  let flushed: Emit[] = [];
  const flushedParts = new Set<number>();
  let applied = 0;
  let duplicates = 0;
  /** Inputs whose copies a run before lost offsets wrote: not copied again. */
  const copied = new Set<string>();

  function stateChanges(res: ApplyResult): readonly Emit[] {
    if (res.changed.length === 0) return NO_EMITS;
    return res.changed.map((e) => {
      metrics.stateChanges.inc({ to: e.new_state });
      return { topic: CHANGELOG, key: e.agent_id, event: e };
    });
  }

  function onHeartbeat(hb: HeartbeatReceived, ctx: RecordContext): readonly Emit[] | Promise<readonly Emit[]> {
    const x = folds.get(ctx.partition);
    if (x.changelog.tails.heartbeats !== undefined) return checkpointer.replayBefore(x, 'heartbeats', BigInt(ctx.offset)).then(() => onHeartbeat(hb, ctx));
    folds.handled(ctx.partition);
    // A number, not a BigInt per record: offsets stay far below 2^53.
    x.changelog.heartbeatsThrough = decimal(ctx.offset);
    x.registry.lastRecordMs = ctx.timestampMs;
    // Read before the fold, which may reuse the agent's state object.
    const depthBefore = queueLimit > 0 ? x.fold.agents.get(hb.agent_id)?.queueDepth : undefined;
    const res = x.fold.apply(hb, x.changelog.heartbeatsThrough);
    if (res.duplicate) duplicates++; else applied++;
    if (res.tick !== undefined) crossed = true;
    beats = true;
    const crossing = queueLimit > 0 && !res.duplicate ? queueCrossing(depthBefore, hb, queueLimit) : null;
    if (crossing === null) return stateChanges(res);
    return [...stateChanges(res), { topic: WITNESSES, key: hb.agent_id, event: crossing }];
  }

  /** An ack on mesh.agent-acks: folded into the agent (reliability, quarantine). */
  function onAgentAck(ack: AckReceived, ctx: RecordContext): readonly Emit[] | Promise<readonly Emit[]> {
    const x = folds.get(ctx.partition);
    if (x.changelog.tails.acks !== undefined) return checkpointer.replayBefore(x, 'acks', BigInt(ctx.offset)).then(() => onAgentAck(ack, ctx));
    folds.handled(ctx.partition);
    if (ctx.timestampMs > x.registry.lastRecordMs) x.registry.lastRecordMs = ctx.timestampMs;
    // A number, not a BigInt per record, as onHeartbeat.
    const res = x.fold.applyAck(ack, decimal(ctx.offset));
    if (res.refused !== undefined) {
      metrics.acksRefused.inc();
      throw poison('REJECTED', `${res.refused}: partition ${ctx.partition}`);
    }
    if (res.measured) {
      let list = measured.get(ctx.partition);
      if (!list) { list = []; measured.set(ctx.partition, list); }
      list.push(res.measured);
    }
    return stateChanges(res);
  }

  /** The partition's batch committed: the arrivals its fold measured are counted (an aborted batch's are folded again). */
  function observeMeasured(partition: number): void {
    const list = measured.get(partition);
    if (!list) return;
    measured.delete(partition);
    for (const m of list) {
      metrics.predictionError.observe(m.errorMs);
      metrics.predictions.inc({ result: m.within ? 'within_50ms' : 'outside' });
    }
  }

  /** A message refused that only its agent could have signed, copied onto mesh.agent-acks: counted against the agent. */
  function onOffence(report: ConflictReported, ctx: RecordContext): readonly Emit[] | Promise<readonly Emit[]> {
    if (ctx.topic !== AGENT_ACKS || report.forgery?.own_key !== true) return NO_EMITS;
    const x = folds.get(ctx.partition);
    if (x.changelog.tails.acks !== undefined) return checkpointer.replayBefore(x, 'acks', BigInt(ctx.offset)).then(() => onOffence(report, ctx));
    folds.handled(ctx.partition);
    if (ctx.timestampMs > x.registry.lastRecordMs) x.registry.lastRecordMs = ctx.timestampMs;
    const res = x.fold.applyOffence(report, decimal(ctx.offset));
    if (res.refused !== undefined) {
      metrics.acksRefused.inc();
      throw poison('REJECTED', `${res.refused}: partition ${ctx.partition}`);
    }
    return stateChanges(res);
  }

  /** A heal on mesh.circuits: copied into every mesh.agent-acks partition; a copy there: folded into the partition's agents. */
  function onHeal(heal: MeshHealRequested, ctx: RecordContext): readonly Emit[] | Promise<readonly Emit[]> {
    if (ctx.topic === CIRCUITS && copied.has(heal.meta.event_id)) return NO_EMITS;
    if (ctx.topic === CIRCUITS) return copiesInto(AGENT_ACKS, heal, agentAckPartitions, HEAL_COPY_PREFIX);
    if (ctx.topic !== AGENT_ACKS) return NO_EMITS;
    const x = folds.get(ctx.partition);
    if (x.changelog.tails.acks !== undefined) return checkpointer.replayBefore(x, 'acks', BigInt(ctx.offset)).then(() => onHeal(heal, ctx));
    folds.handled(ctx.partition);
    if (ctx.timestampMs > x.registry.lastRecordMs) x.registry.lastRecordMs = ctx.timestampMs;
    return stateChanges(x.fold.applyHeal(heal, decimal(ctx.offset)));
  }

  /** A partition's batch is done: the registry by its cadence, and a checkpoint when one is due. */
  async function flushPartition(x: OwnedPartition): Promise<Emit[]> {
    const t = now();
    const checkpoint = checkpointer.due(x, t);
    writer.batchFlushed(x, t, checkpoint);
    if (!checkpoint) return [];
    // Redis first: a committed checkpoint promises the registry holds at least its state. A
    // failing write fails the flush; the runner retries it, then aborts the batch.
    await writer.settle(x);
    return checkpointer.checkpoint(x);
  }

  const drain = () => writer.drain(folds.all());

  /** How far each owned partition's summary entries are in Redis, and when it last got a batch. */
  const marks = (): PartitionMark[] => [...folds.all()].map((x) => ({
    partition: x.partition, watermarkUs: x.registry.entriesThroughUs, seenMs: Math.max(x.registry.lastFlush, resumedMs), behind: (heartbeatLag.get(x.partition) ?? 0) > 0,
  }));

  /**
   * A partition crossed a 5 s tick. Its owner publishes how far its summary entries are written
   * (without waiting for the writes); the summary partition's owner writes its own first, then
   * summarises at the tick every partition reached (summary-clock.ts), once per tick.
   */
  async function summarize(): Promise<Emit[]> {
    if (!folds.has(summaryPartition)) {
      void drain().then(() => store.writeWatermarks(marks())).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'watermarks not published'));
      return [];
    }
    writer.writeSummaryEntries(folds.all());
    await drain();
    const mine = marks();
    await store.writeWatermarks(mine);
    const merged = mergeMarks(await store.watermarks(), mine);
    let tick = summaryTickOf(merged, now());
    // A SummaryDue in the batch: the tick it names, once nothing below it is unread.
    const due = dueTickOf(merged, dueTick);
    dueTick = -Infinity;
    if (due !== null && (tick === null || due > tick)) tick = due;
    let out: Emit[] = [];
    if (tick !== null && tick > summarizedTick) {
      out = await summaries(tick);
      summarizedTick = tick;
    }
    // A tick reached and not summarised waits for a crossing that a silent mesh never brings.
    const reached = reachedTickOf(merged);
    if (reached !== null && reached > summarizedTick) deps.summaryDue?.arm(reached); else deps.summaryDue?.cancel();
    return out;
  }

  /** A SummaryDue on the summary partition: the summaries look again in this batch's flush. */
  function onSummaryDue(e: SummaryDue, ctx: RecordContext): readonly Emit[] {
    if (ctx.topic !== HEARTBEATS || ctx.partition !== summaryPartition || !folds.has(summaryPartition)) return NO_EMITS;
    dueTick = Math.max(dueTick, e.tick_at);
    crossed = true;
    return NO_EMITS;
  }

  /** A request is scheduled unless its partition's log froze the mesh before it (freeze.ts), with the approvals before it. */
  function onCoordination(req: CoordinationRequested, partition: number): readonly Emit[] | Promise<readonly Emit[]> {
    const decide = (s: GateState) => (s.freeze.status === 'frozen' ? [refusal(req, s.freeze)] : schedule(req, s.approved.has(req.meta.correlation_id)));
    const s = gate.state(partition);
    return s instanceof Promise ? s.then(decide) : decide(s);
  }

  /**
   * On mesh.circuits: kept in the restrictions hash (what the status shows) and copied into every
   * coordination partition; a copy there: folded by that partition's gate, which alone refuses.
   */
  function onFreeze(e: FreezeEvent, ctx: RecordContext): readonly Emit[] | Promise<readonly Emit[]> {
    if (ctx.topic === CIRCUITS) return recordDecision(store, e, circuitsAt(ctx)).then(() => sequencedCopies(e, coordinationPartitions));
    return onGate(e, ctx);
  }

  /** A freeze copy or an approval in a coordination partition: folded by its gate. */
  function onGate(e: GateEvent, ctx: RecordContext): readonly Emit[] | Promise<readonly Emit[]> {
    if (ctx.topic !== COORDINATION) return NO_EMITS;
    const folded = gate.fold(ctx.partition, e);
    return folded instanceof Promise ? folded.then(() => NO_EMITS) : NO_EMITS;
  }

  return {
    name: 'impedance',
    inputs: [HEARTBEATS, COORDINATION, ACKS, AGENT_ACKS, CIRCUITS],
    metrics,
    folds: () => new Map([...folds.all()].map((x) => [x.partition, x.fold])),
    drain,
    registryBacklog: () => writer.backlog(folds.all()),
    close: drain,
    accepts: IMPEDANCE_INPUT_TYPES,
    handle(event, ctx) {
      switch (event.type) {
        case 'HeartbeatReceived': return onHeartbeat(event, ctx);
        case 'SummaryDue': return onSummaryDue(event, ctx);
        case 'CoordinationRequested': return onCoordination(event, ctx.partition);
        case 'CoordinationApproved': return onGate(event, ctx);
        case 'MeshFrozen':
        case 'MeshThawed': return onFreeze(event, ctx);
        case 'MeshHealRequested': return onHeal(event, ctx);
        case 'ConflictReported': return onOffence(event, ctx);
        case 'AckReceived': return ctx.topic === AGENT_ACKS ? onAgentAck(event, ctx) : copied.has(event.meta.event_id) ? NO_EMITS : onAck(event);
        case 'CircuitStateChanged':
        // The guardian writes its decisions on mesh.circuits alone: their positions are offsets there.
        case 'OperationalModeChanged': return ctx.topic === CIRCUITS ? recordDecision(store, event, circuitsAt(ctx)).then(() => NO_EMITS) : NO_EMITS;
        default: return unreachable(event);
      }
    },
    async flush() {
      for (const p of folds.inBatch()) {
        if (flushedParts.has(p)) continue;
        flushed.push(...(await flushPartition(folds.get(p))));
        flushedParts.add(p);
      }
      if (beats) {
        const t = now();
        if (t - lastBeatsMs >= QUIET_PARTITION_MS) resumedMs = t;
        lastBeatsMs = t;
        beats = false;
      }
      if (crossed) {
        flushed.push(...(await summarize()));
        crossed = false;
      }
      writer.flushEnded(now());
      if (applied > 0) metrics.heartbeats.inc({ result: 'applied' }, applied);
      if (duplicates > 0) metrics.heartbeats.inc({ result: 'duplicate' }, duplicates);
      applied = 0;
      duplicates = 0;
      folds.batchFlushed();
      summarizedBefore = summarizedTick;
      const out = flushed;
      flushed = [];
      flushedParts.clear();
      return out;
    },
    onCommitted({ topic, partition, lag }) {
      if (topic === HEARTBEATS && lag !== undefined) heartbeatLag.set(partition, lag);
      if (topic !== HEARTBEATS && topic !== AGENT_ACKS) return;
      observeMeasured(partition);
      const x = folds.committed(partition);
      if (x) checkpointer.committed(x, now());
    },
    onAbort() {
      gate.aborted();
      crossed = false;
      beats = false;
      dueTick = -Infinity;
      summarizedTick = summarizedBefore;
      flushed = [];
      flushedParts.clear();
      applied = 0;
      duplicates = 0;
      measured.clear();
      for (const x of folds.aborted()) checkpointer.aborted(x);
    },
    async onAssigned(list) {
      warnUnlessCoAssigned(list, log);
      await gate.assigned(list.filter((x) => x.topic === COORDINATION).map((x) => x.partition));
      const sources = list.filter((x) => COPIED_SOURCES.includes(x.topic as TopicName));
      const before = sources.length > 0 ? await deps.copiedBefore?.(sources) : undefined;
      if (before) {
        for (const id of before) copied.add(id);
        log.warn({ sources, copies: before.size }, 'no committed offset for a copied input: the copies already on mesh.agent-acks are not written again');
      }
      const owned = list.filter((x) => x.topic === HEARTBEATS || x.topic === AGENT_ACKS).map((x) => x.partition);
      const ps = [...new Set(owned)].sort((a, b) => a - b).filter((p) => !folds.has(p));
      if (ps.length === 0) return;
      const restored = await checkpointer.restore(ps, now());
      const xs = ps.map((p, i): OwnedPartition => ({ partition: p, ...restored[i]!, registry: writer.cursor(now()) }));
      for (const x of xs) folds.adopt(x);
      // The partitions' tails side by side: each replay mostly waits on the broker.
      await Promise.all(xs.map((x) => checkpointer.replayCommitted(x)));
      for (const x of xs) await writer.restored(x);
      log.info({ partitions: ps, agents: ps.reduce((s, p) => s + (folds.lookup(p)?.fold.agents.size ?? 0), 0) }, 'impedance state restored');
    },
    onRevoked(list) {
      gate.revoked(list.filter((x) => x.topic === COORDINATION).map((x) => x.partition));
      for (const x of list) if (x.topic === HEARTBEATS || x.topic === AGENT_ACKS) { folds.revoked(x.partition); heartbeatLag.delete(x.partition); measured.delete(x.partition); }
    },
    ...(idleWriteMs > 0 ? {
      punctuation: {
        everyMs: idleWriteMs,
        punctuate: (t: number) => writer.writeIdle(folds.all(), t, (x) => folds.busy(x.partition) || x.changelog.tails.heartbeats !== undefined),
      },
    } : {}),
  };
}

/** A non-range assignor splits mesh.heartbeats from mesh.agent-acks: acks would be folded where their agents are not. */
function warnUnlessCoAssigned(list: ReadonlyArray<{ topic: string; partition: number }>, log: Logger): void {
  const of = (t: string) => list.filter((x) => x.topic === t).map((x) => x.partition).sort((a, b) => a - b).join(',');
  if (of(HEARTBEATS) === of(AGENT_ACKS)) return;
  log.error({ heartbeats: of(HEARTBEATS), agentAcks: of(AGENT_ACKS) }, 'mesh.heartbeats and mesh.agent-acks are not co-assigned; use a range assignor');
}
