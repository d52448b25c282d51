// The impedance processor: mesh.heartbeats folded per partition, mesh.coordination answered
// with send schedules from the registry, mesh.acks measured against the schedules.
//
// Acks are keyed by correlation id, so an agent's acks land on other partitions than its
// heartbeats. Each ack on mesh.acks is copied, re-keyed by agent id (and with the predicted
// arrival filled in from the schedule), to mesh.agent-acks in the transaction that consumes it:
// the repartition step of a co-partitioned join. mesh.agent-acks has mesh.heartbeats' partition
// count and key, and the range assignors (kafkajs: runtime/kafka/range-assigner.ts; librdkafka's
// default "range,roundrobin") give partition p of both to one instance, which folds the agent's
// acks into its reliability and quarantine (ack-fold.ts). The fold does not depend on how the
// two topics interleave, so a new owner replays both tails after the checkpoint in any order.
//
// Per-agent work is coalesced over time, not done per batch: at 30,000 agents a batch holds
// thousands of distinct agents, so writing each changed agent every batch costs as much as the
// heartbeats themselves.
// - Redis (a projection, written with revision-guarded, idempotent writes) gets the agents
//   changed since its last write at most every `registryLagMs` (seed 002: the registry may lag
//   up to 1 s), and at once when the service is at the end of the log (the batch's last record
//   is younger than `caughtUpMs`: in a live mesh every partition gets heartbeats all the time).
//   A service catching up on a backlog B behind the live edge serves a registry at least B old
//   whatever it does, so it writes every B / 10 instead (see registryInterval), up to one write
//   per checkpoint: the interval adds at most a tenth to the staleness the backlog causes, and
//   a 30,000-agent mesh replayed at 16x real time is not written 30,000 agents a second (the
//   sorted-set updates alone cost Redis ~12 µs per agent, a core's worth at 100,000 heartbeats/s).
//   In between, the agents' summary entries alone are written every `registryLagMs`: the 5 s
//   summaries read them, and judge an agent silent for 30 s of event time offline, which a
//   backlog replayed at 16x would make every agent after 2 s of wall time.
//   A timer applies the same interval to partitions that get no batch, and writes every pending
//   change once the service has had no batch for `idleWriteMs` (the end of a backlog), so the
//   registry never waits for the next heartbeat.
// - The changelog gets checkpoints every `checkpointMs` (at the end of the log too: each agent
//   heartbeats every 5 s, so a 10 s checkpoint carries one entry for two heartbeats), one
//   ImpedanceUpdated per agent changed since the last checkpoint, all carrying
//   `applied_through` = the batch's last heartbeat offset, in the batch's transaction. A new
//   owner restores the latest entries and replays the heartbeats after the highest
//   `applied_through` up to where the group committed (the first record it is given), without
//   emitting anything: the previous owner committed those outputs already.
// The fold is taken back when a batch does not commit (onAbort) and made final on onCommitted.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from 'pino';
import type {
  AckReceived, CoordinationRequested, HeartbeatReceived, ImpedanceUpdated,
} from '../../schemas/generated/events';
import { unreachable } from '../runtime/errors';
import { decimal, type Emit, type Processor, type RecordContext } from '../runtime/processor';
import { measureArrival } from './accuracy';
import { fromImpedanceUpdated, toImpedanceUpdated, type AgentState } from './agent-fold';
import { PartitionFold } from './partition-fold';
import type { RegistryStore } from './registry-store';
import { computeSchedule, parseTarget } from './schedule';
import { summarize } from './summaries';

export const TOPICS = {
  heartbeats: 'mesh.heartbeats',
  impedance: 'mesh.impedance',
  summaries: 'mesh.summaries',
  coordination: 'mesh.coordination',
  schedules: 'mesh.schedules',
  acks: 'mesh.acks',
  agentAcks: 'mesh.agent-acks',
} as const;

const NO_EMITS: readonly Emit[] = Object.freeze([]);

/** Agents per registry write (one Lua call): Redis runs a script alone, so keep each short. */
const WRITE_CHUNK = 2000;

export type RestoreFn = (partitions: readonly number[]) => Promise<Map<number, Map<string, ImpedanceUpdated>>>;
/** Heartbeats of a mesh.heartbeats partition at offsets [from, to), valid ones only, in order. */
export type ReadTailFn = (partition: number, from: bigint, to: bigint) => Promise<HeartbeatReceived[]>;
/** Acks of a mesh.agent-acks partition at offsets [from, to), valid ones only, with their offsets. */
export type ReadAckTailFn = (partition: number, from: bigint, to: bigint) => Promise<Array<{ readonly ack: AckReceived; readonly offset: number }>>;

export interface ImpedanceProcessorDeps {
  readonly store: RegistryStore;
  readonly restore: RestoreFn;
  readonly readTail: ReadTailFn;
  /** The group's committed heartbeat offsets, so the tail is replayed at assignment (else at the first record). */
  readonly committed?: (partitions: readonly number[]) => Promise<Map<number, bigint>>;
  /** The same for mesh.agent-acks (the acks after the checkpoint). */
  readonly readAckTail?: ReadAckTailFn;
  readonly committedAcks?: (partitions: readonly number[]) => Promise<Map<number, bigint>>;
  readonly logger: Logger;
  /** The heartbeat partition whose watermark drives the 5 s summaries (one emitter per mesh). */
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
   * With no batch for this long, unwritten changes are written at once (default registryLagMs;
   * 0: no timer, for tests with a fake clock). Not much shorter: a catching-up service's batches
   * can be that far apart (a commit, a fetch, a pause), and each early write costs a full one.
   */
  readonly idleWriteMs?: number;
}

export interface ImpedanceMetrics {
  readonly registry: Registry;
  readonly heartbeats: Counter<'result'>;
  readonly stateChanges: Counter<'to'>;
  readonly predictionError: Histogram;
  readonly predictions: Counter<'result'>;
  readonly registryWrites: Counter<'kind'>;
}

export function createImpedanceMetrics(registry: Registry = new Registry()): ImpedanceMetrics {
  const registers = [registry];
  return {
    registry,
    heartbeats: new Counter({ name: 'solvermesh_impedance_heartbeats_total', help: 'Heartbeats folded (applied) or skipped as not newer (duplicate)', labelNames: ['result'], registers }),
    stateChanges: new Counter({ name: 'solvermesh_impedance_state_changes_total', help: 'Agent operational state changes', labelNames: ['to'], registers }),
    predictionError: new Histogram({
      name: 'solvermesh_impedance_prediction_error_ms', help: '|actual - predicted arrival| per ack, ms', registers,
      buckets: [5, 10, 25, 50, 100, 250, 500, 1000, 5000],
    }),
    predictions: new Counter({ name: 'solvermesh_impedance_predictions_total', help: 'Acks measured: within 50 ms of the prediction or not', labelNames: ['result'], registers }),
    registryWrites: new Counter({ name: 'solvermesh_impedance_registry_agent_writes_total', help: 'Agents sent to Redis: whole (hash, indexes, summary entry) or their summary entry only', labelNames: ['kind'], registers }),
  };
}

/** The event types the impedance processor takes (AckReceived on mesh.acks and mesh.agent-acks). */
export const IMPEDANCE_INPUT_TYPES = ['HeartbeatReceived', 'CoordinationRequested', 'AckReceived'] as const;

export type ImpedanceProcessor = Processor<(typeof IMPEDANCE_INPUT_TYPES)[number]> & {
  readonly metrics: ImpedanceMetrics;
  folds(): ReadonlyMap<number, PartitionFold>;
  /** Waits for registry writes under way (before closing Redis). */
  drain(): Promise<void>;
  /** Agents whose latest state is not known to be in Redis yet (changed since the last write, or a failed one). */
  registryBacklog(): number;
  /** Stops the idle writes and waits for the writes under way. */
  close(): Promise<void>;
};

/** One owned heartbeat partition. */
interface Part {
  readonly fold: PartitionFold;
  /** Set from assignment until the first record: the first offset not covered by the restored checkpoint. */
  tailFrom: bigint | undefined;
  /** The same for mesh.agent-acks. */
  ackTailFrom: bigint | undefined;
  /** Last offset and its Kafka timestamp (ms) in the batch being handled. */
  lastOffset: number;
  lastTimestampMs: number;
  lastWrite: number;
  /** When the summary entries alone were last written (or with a full write). */
  lastSummaryWrite: number;
  /** When the partition's last batch was flushed. */
  lastFlush: number;
  lastCheckpoint: number;
  /** The uncommitted batch carries a checkpoint. */
  checkpointing: boolean;
  /** Registry writes under way (never rejects), agents a failed write left, Redis lost the partition. */
  inflight: Promise<void>;
  /** Writes started and not yet settled. */
  writing: number;
  readonly unwritten: Set<string>;
  rebuild: boolean;
}

export function impedanceProcessor(deps: ImpedanceProcessorDeps): ImpedanceProcessor {
  const { store, logger } = deps;
  const log = logger.child({ component: 'impedance' });
  const summaryPartition = deps.summaryPartition ?? 0;
  const now = deps.now ?? Date.now;
  const registryLagMs = deps.registryLagMs ?? 1000;
  const checkpointMs = deps.checkpointMs ?? 10_000;
  const caughtUpMs = deps.caughtUpMs ?? 5000;
  const idleWriteMs = deps.idleWriteMs ?? registryLagMs;
  const metrics = createImpedanceMetrics(deps.registry);
  const parts = new Map<number, Part>();
  const registryBacklog = () => {
    let n = 0;
    for (const x of parts.values()) n += x.fold.dirtyCount + x.unwritten.size;
    return n;
  };
  new Gauge({
    name: 'solvermesh_impedance_registry_backlog', help: 'Agents whose latest state is not yet written to the Redis registry', registers: [metrics.registry],
    collect() { this.set(registryBacklog()); },
  });
  /** Partitions handled since the last flush. */
  const current = new Set<number>();
  /** Partitions flushed, whose transaction is not known to have committed yet. */
  const uncommitted = new Set<number>();
  let pendingTick: number | undefined;
  /** Outputs of flush steps that succeeded, kept when a later step fails and flush is retried. */
  let flushed: Emit[] = [];
  const flushedParts = new Set<number>();
  let applied = 0;
  let duplicates = 0;
  /** When the last batch was flushed (any partition). */
  let lastBatchAt = now();

  const newPart = (fold = new PartitionFold(), tailFrom?: bigint, ackTailFrom?: bigint): Part => ({
    fold, tailFrom, ackTailFrom, lastOffset: tailFrom !== undefined ? Number(tailFrom) - 1 : -1, lastTimestampMs: 0, lastWrite: now(), lastSummaryWrite: now(), lastFlush: now(), lastCheckpoint: now(), checkpointing: false,
    inflight: Promise.resolve(), writing: 0, unwritten: new Set(), rebuild: false,
  });
  const partFor = (p: number) => {
    let s = parts.get(p);
    if (!s) { s = newPart(); parts.set(p, s); }
    return s;
  };

  /** Folds the heartbeats the previous owner committed after its last checkpoint (their outputs are out already). */
  async function replayTail(p: number, part: Part, upTo: bigint): Promise<void> {
    const from = part.tailFrom!;
    if (upTo > from) {
      const beats = await deps.readTail(p, from, upTo);
      for (const hb of beats) part.fold.apply(hb);
      part.fold.commit();
      part.lastOffset = Number(upTo) - 1;
      log.info({ partition: p, from: String(from), to: String(upTo), heartbeats: beats.length }, 'replayed the heartbeats after the checkpoint');
    }
    part.tailFrom = undefined;
  }

  /** The same for the partition's acks (any interleaving with the heartbeats gives the same fold). */
  async function replayAckTail(p: number, part: Part, upTo: bigint): Promise<void> {
    const from = part.ackTailFrom!;
    if (upTo > from && deps.readAckTail) {
      const acks = await deps.readAckTail(p, from, upTo);
      for (const a of acks) part.fold.applyAck(a.ack, a.offset);
      part.fold.commit();
      log.info({ partition: p, from: String(from), to: String(upTo), acks: acks.length }, 'replayed the acks after the checkpoint');
    }
    part.ackTailFrom = undefined;
  }

  /** The tail up to the group's committed offset now, so an idle partition's registry is complete too. */
  async function replayCommittedTail(p: number, part: Part): Promise<void> {
    try {
      if (part.tailFrom !== undefined && deps.committed) {
        const to = (await deps.committed([p])).get(p) ?? -1n;
        if (to > part.tailFrom) {
          await replayTail(p, part, to);
          part.tailFrom = to; // a zombie's last commit may still land: the first record covers it
        }
      }
      if (part.ackTailFrom !== undefined && deps.committedAcks) {
        const to = (await deps.committedAcks([p])).get(p) ?? -1n;
        if (to > part.ackTailFrom) {
          await replayAckTail(p, part, to);
          part.ackTailFrom = to;
        }
      }
    } catch (err) {
      log.warn({ partition: p, err: (err as Error).message }, 'tail replay deferred to the first record');
    }
  }

  function onHeartbeat(hb: HeartbeatReceived, ctx: RecordContext): readonly Emit[] | Promise<readonly Emit[]> {
    const part = partFor(ctx.partition);
    if (part.tailFrom !== undefined) return replayTail(ctx.partition, part, BigInt(ctx.offset)).then(() => onHeartbeat(hb, ctx));
    current.add(ctx.partition);
    // A number, not a BigInt per record: offsets stay far below 2^53.
    part.lastOffset = decimal(ctx.offset);
    part.lastTimestampMs = ctx.timestampMs;
    const res = part.fold.apply(hb);
    if (res.duplicate) duplicates++; else applied++;
    if (res.tick !== undefined && ctx.partition === summaryPartition) pendingTick = res.tick;
    if (res.changed.length === 0) return NO_EMITS;
    return res.changed.map((e) => {
      metrics.stateChanges.inc({ to: e.new_state });
      return { topic: TOPICS.impedance, key: e.agent_id, event: e };
    });
  }

  async function targetsOf(req: CoordinationRequested): Promise<string[]> {
    const out: string[] = [];
    for (const t of req.target_agent_ids) {
      const sel = parseTarget(t);
      if (sel.kind === 'agent') out.push(sel.id);
      else out.push(...(await store.members(sel.kind, sel.value)));
    }
    return out;
  }

  async function onCoordination(req: CoordinationRequested): Promise<Emit[]> {
    const targets = await targetsOf(req);
    const agents = await store.scheduleAgents([...new Set(targets)]);
    const chunks = computeSchedule(req, targets, (id) => agents.get(id));
    await store.rememberSchedule(req.message_id, req.target_arrival_time);
    return chunks.map((c) => ({ topic: TOPICS.schedules, key: req.meta.correlation_id, event: c }));
  }

  /** An ack on mesh.acks: prediction accuracy (Redis counters), and its copy keyed by agent. */
  async function onAck(ack: AckReceived): Promise<Emit[]> {
    const arrived = ack.state !== 'TRANSIT';
    const predicted = ack.expected_arrival_at ?? (await store.scheduledArrival(ack.message_id));
    const m = predicted === null || !arrived ? null : measureArrival(ack.actual_arrival_at, predicted);
    const counted = await store.recordAck(ack.message_id, ack.agent_id, Math.floor(ack.meta.occurred_at / 1000), m, ack.state === 'CONFLICT');
    if (counted && m) {
      metrics.predictionError.observe(m.errorMs);
      metrics.predictions.inc({ result: m.within ? 'within_50ms' : 'outside' });
    }
    // Copied whether or not Redis saw it before: that check is outside the transaction, and the
    // agent's fold drops re-sent acks itself (ack-fold.ts).
    const keyed: AckReceived = predicted === ack.expected_arrival_at ? ack : { ...ack, expected_arrival_at: predicted };
    return [{ topic: TOPICS.agentAcks, key: ack.agent_id, event: keyed }];
  }

  /** An ack on mesh.agent-acks: folded into the agent (reliability, quarantine). */
  function onAgentAck(ack: AckReceived, ctx: RecordContext): Emit[] | Promise<Emit[]> {
    const part = partFor(ctx.partition);
    const offset = BigInt(ctx.offset);
    if (part.ackTailFrom !== undefined) return replayAckTail(ctx.partition, part, offset).then(() => onAgentAck(ack, ctx));
    current.add(ctx.partition);
    if (ctx.timestampMs > part.lastTimestampMs) part.lastTimestampMs = ctx.timestampMs;
    const res = part.fold.applyAck(ack, Number(offset));
    return res.changed.map((e) => {
      metrics.stateChanges.inc({ to: e.new_state });
      return { topic: TOPICS.impedance, key: e.agent_id, event: e };
    });
  }

  /**
   * Writes agents in chunks sent together; says whether the partition's registry was built
   * before. The agents are read (encoded) before this returns: the fold may reuse their states
   * once their batch commits (PartitionFold's spares).
   */
  async function write(p: number, agents: readonly AgentState[]): Promise<boolean> {
    const writes: Array<Promise<{ built: boolean }>> = [];
    for (let i = 0; i < agents.length; i += WRITE_CHUNK) writes.push(store.writeAgents(p, agents.slice(i, i + WRITE_CHUNK)));
    metrics.registryWrites.inc({ kind: 'full' }, agents.length);
    const done = await Promise.allSettled(writes);
    const failed = done.find((d): d is PromiseRejectedResult => d.status === 'rejected');
    if (failed) throw failed.reason;
    return done.every((d) => d.status === 'fulfilled' && d.value.built);
  }

  /**
   * Starts writing the agents changed since the last write (and those a failed write left),
   * without waiting: Redis works while the next batch is decoded. The writes of a partition go
   * out in order on the one connection. A failure puts the agents back in `unwritten`;
   * checkpoints wait in settle().
   */
  function startWrite(p: number, part: Part): void {
    const set = new Set(part.unwritten);
    for (const a of part.fold.dirtyAgentsForRegistry()) set.add(a.agentId);
    part.fold.registryWritten();
    part.unwritten.clear();
    if (set.size === 0) return;
    const ids = [...set].sort();
    const agents = ids.map((id) => part.fold.agents.get(id)).filter((a): a is AgentState => a !== undefined);
    part.writing++;
    const done = write(p, agents).then(
      (built) => { if (!built) part.rebuild = true; },
      (err: unknown) => {
        for (const id of ids) part.unwritten.add(id);
        log.debug({ partition: p, agents: ids.length, err: (err as Error).message }, 'registry write failed; kept for the next one');
      },
    ).finally(() => { part.writing--; });
    part.inflight = Promise.all([part.inflight, done]).then(() => undefined);
  }

  /**
   * Starts writing the summary entries of the agents the next full write will write (they stay
   * owed to it). A failure only costs freshness: the full write carries the same entries.
   */
  function startSummaryWrite(p: number, part: Part): void {
    const agents = part.fold.dirtyAgentsForRegistry();
    for (const id of part.unwritten) { const a = part.fold.agents.get(id); if (a) agents.push(a); }
    if (agents.length === 0) return;
    metrics.registryWrites.inc({ kind: 'summary' }, agents.length);
    const all: Array<Promise<number>> = [];
    // Encoded now, as write() does.
    for (let i = 0; i < agents.length; i += WRITE_CHUNK) all.push(store.writeSummaries(agents.slice(i, i + WRITE_CHUNK)));
    const done = Promise.all(all).then(
      () => undefined,
      (err: unknown) => { log.debug({ partition: p, agents: agents.length, err: (err as Error).message }, 'summary entries write failed; the full write carries them'); },
    );
    part.inflight = Promise.all([part.inflight, done]).then(() => undefined);
  }

  /** Waits for the partition's writes; then the registry holds its fold (or this throws). */
  async function settle(p: number, part: Part): Promise<void> {
    await part.inflight;
    const { fold } = part;
    if (part.unwritten.size > 0) {
      const agents = [...part.unwritten].sort().map((id) => fold.agents.get(id)).filter((a): a is AgentState => a !== undefined);
      if (!(await write(p, agents))) part.rebuild = true;
      part.unwritten.clear();
    }
    if (part.rebuild) {
      // Redis lost this partition (flushed, or never built): rewrite every agent we own.
      const all = [...fold.agents.values()];
      await write(p, all);
      await store.markBuilt(p);
      part.rebuild = false;
      log.info({ partition: p, agents: all.length }, 'registry rebuilt from the fold');
    }
  }

  async function flushPartition(p: number): Promise<Emit[]> {
    const part = partFor(p);
    const { fold } = part;
    const t = now();
    part.lastFlush = t;
    const behindMs = t - part.lastTimestampMs;
    const caughtUp = behindMs < caughtUpMs;
    const checkpoint = t - part.lastCheckpoint >= checkpointMs;
    if (caughtUp || checkpoint || t - part.lastWrite >= registryInterval(behindMs, registryLagMs, checkpointMs)) {
      startWrite(p, part);
      part.lastWrite = t;
      part.lastSummaryWrite = t;
    } else if (t - part.lastSummaryWrite >= registryLagMs) {
      startSummaryWrite(p, part);
      part.lastSummaryWrite = t;
    }
    if (!checkpoint) return [];
    // Redis first: a committed checkpoint promises the registry holds at least its state. A
    // failing write fails the flush; the runner retries it, then aborts the batch.
    await settle(p, part);
    if (fold.changelogDirtyCount === 0) return [];
    part.checkpointing = true;
    const through = part.lastOffset;
    const acksThrough = fold.acksAppliedThrough();
    return fold.changelogAgents().map((a) => ({ topic: TOPICS.impedance, key: a.agentId, event: toImpedanceUpdated(a, through, acksThrough) }));
  }

  /**
   * Writes the pending changes of partitions neither in a batch nor waiting for one to commit:
   * all of them once the service is quiet, else those that got no batch for a whole write
   * interval (a partition that gets batches is written by flushPartition, at the latest with its
   * checkpoint: writing it here too would write each agent twice). A quiet service also retries
   * what a failed write left (Redis was down), one write at a time.
   */
  function writeIdle(): void {
    const t = now();
    const quiet = t - lastBatchAt >= idleWriteMs;
    for (const [p, part] of parts) {
      if (current.has(p) || uncommitted.has(p) || part.tailFrom !== undefined || part.writing > 0) continue;
      if (part.fold.dirtyCount === 0 && !(quiet && part.unwritten.size > 0)) continue;
      const interval = registryInterval(t - part.lastTimestampMs, registryLagMs, checkpointMs);
      if (!quiet && (t - part.lastWrite < interval || t - part.lastFlush < interval)) continue;
      startWrite(p, part);
      part.lastWrite = t;
    }
  }
  const idleTimer = idleWriteMs > 0 ? setInterval(writeIdle, idleWriteMs) : undefined;
  idleTimer?.unref();

  async function summaries(tick: number): Promise<Emit[]> {
    const [snapshots, accuracy] = await Promise.all([store.snapshots(), store.accuracy(Math.floor(tick / 1000))]);
    const s = summarize(snapshots, tick, accuracy);
    return [
      ...s.clusters.map((e) => ({ topic: TOPICS.summaries, key: `cluster:${e.cluster_id}`, event: e })),
      ...s.sectors.map((e) => ({ topic: TOPICS.summaries, key: `sector:${e.sector_id}`, event: e })),
      { topic: TOPICS.summaries, key: 'mesh', event: s.mesh },
    ];
  }

  return {
    name: 'impedance',
    inputs: [TOPICS.heartbeats, TOPICS.coordination, TOPICS.acks, TOPICS.agentAcks],
    metrics,
    folds: () => new Map([...parts].map(([p, s]) => [p, s.fold])),
    drain: async () => { await Promise.all([...parts.values()].map((x) => x.inflight)); },
    registryBacklog,
    async close() {
      if (idleTimer) clearInterval(idleTimer);
      await Promise.all([...parts.values()].map((x) => x.inflight));
    },
    accepts: IMPEDANCE_INPUT_TYPES,
    handle(event, ctx) {
      switch (event.type) {
        case 'HeartbeatReceived': return onHeartbeat(event, ctx);
        case 'CoordinationRequested': return onCoordination(event);
        case 'AckReceived': return ctx.topic === TOPICS.agentAcks ? onAgentAck(event, ctx) : onAck(event);
        default: return unreachable(event);
      }
    },
    async flush() {
      for (const p of [...current].sort((a, b) => a - b)) {
        if (flushedParts.has(p)) continue;
        flushed.push(...(await flushPartition(p)));
        flushedParts.add(p);
      }
      if (pendingTick !== undefined) {
        // The summary reads the registry: let the writes under way land first.
        await Promise.all([...parts.values()].map((x) => x.inflight));
        flushed.push(...(await summaries(pendingTick)));
        pendingTick = undefined;
      }
      lastBatchAt = now();
      if (applied > 0) metrics.heartbeats.inc({ result: 'applied' }, applied);
      if (duplicates > 0) metrics.heartbeats.inc({ result: 'duplicate' }, duplicates);
      applied = 0;
      duplicates = 0;
      for (const p of current) uncommitted.add(p);
      current.clear();
      const out = flushed;
      flushed = [];
      flushedParts.clear();
      return out;
    },
    onCommitted({ topic, partition }) {
      if (topic !== TOPICS.heartbeats && topic !== TOPICS.agentAcks) return;
      const part = parts.get(partition);
      uncommitted.delete(partition);
      if (!part) return;
      part.fold.commit();
      if (part.checkpointing) {
        part.fold.checkpointed();
        part.checkpointing = false;
        part.lastCheckpoint = now();
      }
    },
    onAbort() {
      flushed = [];
      flushedParts.clear();
      applied = 0;
      duplicates = 0;
      for (const p of new Set([...current, ...uncommitted])) {
        const part = parts.get(p);
        if (!part) continue;
        part.fold.rollback();
        part.checkpointing = false;
        if (p === summaryPartition) pendingTick = undefined;
      }
      current.clear();
      uncommitted.clear();
    },
    async onAssigned(list) {
      const of = (t: string) => list.filter((x) => x.topic === t).map((x) => x.partition).sort((a, b) => a - b).join(',');
      if (of(TOPICS.heartbeats) !== of(TOPICS.agentAcks)) {
        // A non-range assignor split them: acks would be folded where their agents are not.
        log.error({ heartbeats: of(TOPICS.heartbeats), agentAcks: of(TOPICS.agentAcks) }, 'mesh.heartbeats and mesh.agent-acks are not co-assigned; use a range assignor');
      }
      const folded = list.filter((x) => x.topic === TOPICS.heartbeats || x.topic === TOPICS.agentAcks).map((x) => x.partition);
      const ps = [...new Set(folded)].sort((a, b) => a - b).filter((p) => !parts.has(p));
      if (ps.length === 0) return;
      const restored = await restoreWithRetry(deps.restore, ps, log);
      for (const p of ps) {
        const entries = [...(restored.get(p)?.values() ?? [])];
        const fold = new PartitionFold();
        const ackTail = ackTailStart(entries);
        fold.restore(entries.map(fromImpedanceUpdated), ackTail === undefined ? -1 : Number(ackTail) - 1);
        parts.set(p, newPart(fold, tailStart(entries), ackTail));
      }
      // The partitions' tails side by side: each replay mostly waits on the broker.
      await Promise.all(ps.map((p) => replayCommittedTail(p, parts.get(p)!)));
      for (const p of ps) {
        const fold = parts.get(p)!.fold;
        try {
          // Rebuild when Redis lost the partition; else write what the tail replay changed.
          const rebuild = !(await store.isBuilt(p));
          if (rebuild) fold.touchAll();
          const agents = fold.dirtyAgentsForRegistry();
          if (agents.length > 0) await write(p, agents);
          fold.registryWritten();
          if (rebuild) {
            await store.markBuilt(p);
            log.info({ partition: p, agents: agents.length }, 'registry rebuilt from the changelog');
          }
        } catch (err) {
          // Redis down: the first registry write of the partition finds the marker missing and rebuilds.
          log.warn({ partition: p, err: (err as Error).message }, 'registry rebuild deferred');
        }
      }
      log.info({ partitions: ps, agents: ps.reduce((s, p) => s + (parts.get(p)?.fold.agents.size ?? 0), 0) }, 'impedance state restored');
    },
    onRevoked(list) {
      for (const x of list) {
        if (x.topic !== TOPICS.heartbeats && x.topic !== TOPICS.agentAcks) continue;
        parts.delete(x.partition);
        current.delete(x.partition);
        uncommitted.delete(x.partition);
      }
    },
  };
}

/** A backlog's share of staleness the registry write interval may add while catching up. */
export const CATCH_UP_WRITE_SHARE = 0.1;

/**
 * Time between registry writes of a partition whose last record is `behindMs` old: `lagMs` near
 * the live edge, a tenth of the backlog further behind, never longer than the checkpoint
 * interval (a checkpoint writes the registry anyway).
 */
export function registryInterval(behindMs: number, lagMs: number, checkpointMs: number): number {
  return Math.min(Math.max(lagMs, behindMs * CATCH_UP_WRITE_SHARE), Math.max(lagMs, checkpointMs));
}

/**
 * Where the heartbeat replay starts: after the highest checkpoint, from the start with no
 * entries at all (a crash before the first checkpoint), nowhere for entries written by a
 * producer that wrote every agent every batch (no applied_through).
 */
export function tailStart(entries: readonly ImpedanceUpdated[]): bigint | undefined {
  if (entries.length === 0) return 0n;
  let through: number | undefined;
  for (const e of entries) if (e.applied_through != null && (through === undefined || e.applied_through > through)) through = e.applied_through;
  return through === undefined ? undefined : BigInt(through) + 1n;
}

/**
 * Where the ack replay starts: after the latest checkpoint's acks_applied_through, from the
 * start with no entries at all, nowhere for entries written before acks were folded per agent.
 */
export function ackTailStart(entries: readonly ImpedanceUpdated[]): bigint | undefined {
  if (entries.length === 0) return 0n;
  let through: number | undefined;
  for (const e of entries) if (e.acks_applied_through != null && (through === undefined || e.acks_applied_through > through)) through = e.acks_applied_through;
  return through === undefined ? undefined : BigInt(through) + 1n;
}

async function restoreWithRetry(restore: RestoreFn, parts: readonly number[], log: Logger): Promise<Map<number, Map<string, ImpedanceUpdated>>> {
  // Serving without the restored state would fold heartbeats into empty agents: keep trying.
  for (let attempt = 1; ; attempt++) {
    try {
      return await restore(parts);
    } catch (err) {
      log.warn({ attempt, err: (err as Error).message }, 'changelog restore failed; retrying');
      await new Promise((r) => setTimeout(r, Math.min(10_000, 200 * 2 ** attempt)));
    }
  }
}
