// The impedance processor: mesh.heartbeats folded per partition (registry writes and the
// changelog once per batch, in flush), mesh.coordination answered with send schedules from the
// registry, mesh.acks measured against the schedules.
//
// Exactly-once: the changelog commits with the input offsets. Redis cannot join the
// transaction, so its writes are idempotent (guarded by the agent's fold revision). The fold
// itself is taken back when a batch does not commit: a flushed batch stays "pending" per
// partition until the partition's next record shows whether the engine moved past it
// (committed) or rewound to it (aborted, consumed again).
import { Counter, Histogram, Registry } from 'prom-client';
import type { Logger } from 'pino';
import type {
  AckReceived, CoordinationRequested, HeartbeatReceived, ImpedanceUpdated,
} from '../../schemas/generated/events';
import type { DecodedEvent } from '../runtime/codec';
import type { Emit, Processor, RecordContext } from '../runtime/processor';
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
} as const;

/** Changed agents that start a registry write before the batch ends. */
const EARLY_WRITE = 1000;

export type RestoreFn = (partitions: readonly number[]) => Promise<Map<number, Map<string, ImpedanceUpdated>>>;

export interface ImpedanceProcessorDeps {
  readonly store: RegistryStore;
  readonly restore: RestoreFn;
  readonly logger: Logger;
  /** The heartbeat partition whose watermark drives the 5 s summaries (one emitter per mesh). */
  readonly summaryPartition?: number;
  /** Where the processor's metrics go; the service passes its own so /metrics shows them. */
  readonly registry?: Registry;
}

export interface ImpedanceMetrics {
  readonly registry: Registry;
  readonly heartbeats: Counter<'result'>;
  readonly stateChanges: Counter<'to'>;
  readonly predictionError: Histogram;
  readonly predictions: Counter<'result'>;
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
  };
}

export type ImpedanceProcessor = Processor & { readonly metrics: ImpedanceMetrics; folds(): ReadonlyMap<number, PartitionFold> };

export function impedanceProcessor(deps: ImpedanceProcessorDeps): ImpedanceProcessor {
  const { store, logger } = deps;
  const log = logger.child({ component: 'impedance' });
  const summaryPartition = deps.summaryPartition ?? 0;
  const metrics = createImpedanceMetrics(deps.registry);
  const folds = new Map<number, PartitionFold>();
  /** Last offset of a flushed batch per partition whose commit is not known yet. */
  const pending = new Map<number, bigint>();
  /** Partitions and last offsets of the batch being handled. */
  const batch = new Map<number, bigint>();
  /**
   * Registry writes of the batch, started while it is still being handled (every EARLY_WRITE
   * changed agents) so Redis works while we decode; flush waits for them. Kept until written.
   */
  const chunks = new Map<number, Array<{ readonly agents: AgentState[]; write: Promise<{ built: boolean } | Error> }>>();
  let pendingTick: number | undefined;
  /** Outputs of flush steps that succeeded, kept when a later step fails and flush is retried. */
  let flushed: Emit[] = [];
  const flushedParts = new Set<number>();

  const foldFor = (p: number) => {
    let f = folds.get(p);
    if (!f) { f = new PartitionFold(); folds.set(p, f); }
    return f;
  };

  function settle(p: number, offset: bigint): void {
    const last = pending.get(p);
    if (last === undefined) return;
    pending.delete(p);
    const fold = foldFor(p);
    if (offset > last) fold.commit();
    else {
      log.warn({ partition: p, offset: String(offset), pending: String(last) }, 'batch consumed again: taking back its fold');
      fold.rollback();
      if (p === summaryPartition) pendingTick = undefined;
    }
  }

  function onHeartbeat(hb: HeartbeatReceived, ctx: RecordContext): Emit[] {
    const offset = BigInt(ctx.offset);
    settle(ctx.partition, offset);
    batch.set(ctx.partition, offset);
    const fold = foldFor(ctx.partition);
    const before = fold.agents.get(hb.agent_id)?.lastHeartbeatAt;
    const res = fold.apply(hb);
    if (fold.dirtyCount >= EARLY_WRITE) startWrite(ctx.partition, fold.takeDirty());
    metrics.heartbeats.inc({ result: before !== undefined && hb.meta.occurred_at <= before ? 'duplicate' : 'applied' });
    if (res.tick !== undefined && ctx.partition === summaryPartition) pendingTick = res.tick;
    return res.changed.map((e) => {
      metrics.stateChanges.inc({ to: e.new_state });
      return { topic: TOPICS.impedance, key: e.agent_id, event: e as unknown as DecodedEvent };
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
    return chunks.map((c) => ({ topic: TOPICS.schedules, key: req.meta.correlation_id, event: c as unknown as DecodedEvent }));
  }

  async function onAck(ack: AckReceived): Promise<Emit[]> {
    const arrived = ack.state !== 'TRANSIT';
    const predicted = arrived ? ack.expected_arrival_at ?? (await store.scheduledArrival(ack.message_id)) : null;
    const m = predicted === null ? null : measureArrival(ack.actual_arrival_at, predicted);
    const counted = await store.recordAck(ack.message_id, ack.agent_id, Math.floor(ack.meta.occurred_at / 1000), m, ack.state === 'CONFLICT');
    if (counted && m) {
      metrics.predictionError.observe(m.errorMs);
      metrics.predictions.inc({ result: m.within ? 'within_50ms' : 'outside' });
    }
    return [];
  }

  function startWrite(p: number, agents: AgentState[]): void {
    let list = chunks.get(p);
    if (!list) { list = []; chunks.set(p, list); }
    list.push({ agents, write: store.writeAgents(p, agents).catch((err: unknown) => err as Error) });
  }

  async function writePartition(p: number): Promise<Emit[]> {
    const fold = foldFor(p);
    const rest = fold.takeDirty();
    if (rest.length > 0) startWrite(p, rest);
    const list = chunks.get(p) ?? [];
    let built = true;
    for (const c of list) {
      let r = await c.write;
      if (r instanceof Error) {
        // Redis was down for this chunk: try again (a still-failing write fails the flush, which
        // the runner retries and finally aborts; the chunk stays until it is written).
        c.write = store.writeAgents(p, c.agents).catch((err: unknown) => err as Error);
        r = await c.write;
        if (r instanceof Error) throw r;
      }
      if (!r.built) built = false;
    }
    if (!built) {
      // Redis lost this partition (flushed, or never built): rewrite every agent we own.
      fold.touchAll();
      const all = fold.takeDirty();
      await store.writeAgents(p, all);
      await store.markBuilt(p);
      log.info({ partition: p, agents: all.length }, 'registry rebuilt from the fold (restored from the changelog)');
    }
    chunks.delete(p);
    // One changelog entry per agent per batch: its latest state.
    const latest = new Map<string, AgentState>();
    for (const c of list) for (const a of c.agents) latest.set(a.agentId, a);
    return [...latest.keys()].sort().map((id) => {
      const a = latest.get(id)!;
      return { topic: TOPICS.impedance, key: a.agentId, event: toImpedanceUpdated(a) as unknown as DecodedEvent };
    });
  }

  async function summaries(tick: number): Promise<Emit[]> {
    const [snapshots, accuracy] = await Promise.all([store.snapshots(), store.accuracy(Math.floor(tick / 1000))]);
    const s = summarize(snapshots, tick, accuracy);
    return [
      ...s.clusters.map((e) => ({ topic: TOPICS.summaries, key: `cluster:${e.cluster_id}`, event: e as unknown as DecodedEvent })),
      ...s.sectors.map((e) => ({ topic: TOPICS.summaries, key: `sector:${e.sector_id}`, event: e as unknown as DecodedEvent })),
      { topic: TOPICS.summaries, key: 'mesh', event: s.mesh as unknown as DecodedEvent },
    ];
  }

  return {
    name: 'impedance',
    inputs: [TOPICS.heartbeats, TOPICS.coordination, TOPICS.acks],
    metrics,
    folds: () => folds,
    handles: (type) => type === 'HeartbeatReceived' || type === 'CoordinationRequested' || type === 'AckReceived',
    handle(event, ctx) {
      switch (event.type) {
        case 'HeartbeatReceived': return onHeartbeat(event as unknown as HeartbeatReceived, ctx);
        case 'CoordinationRequested': return onCoordination(event as unknown as CoordinationRequested);
        case 'AckReceived': return onAck(event as unknown as AckReceived);
        default: return [];
      }
    },
    async flush() {
      for (const p of [...batch.keys()].sort((a, b) => a - b)) {
        if (flushedParts.has(p)) continue;
        flushed.push(...(await writePartition(p)));
        flushedParts.add(p);
      }
      if (pendingTick !== undefined) {
        flushed.push(...(await summaries(pendingTick)));
        pendingTick = undefined;
      }
      for (const [p, last] of batch) pending.set(p, last);
      batch.clear();
      const out = flushed;
      flushed = [];
      flushedParts.clear();
      return out;
    },
    onAbort() {
      flushed = [];
      flushedParts.clear();
      for (const p of batch.keys()) { folds.get(p)?.rollback(); chunks.delete(p); }
      if (batch.has(summaryPartition)) pendingTick = undefined;
      batch.clear();
    },
    async onAssigned(list) {
      const parts = list.filter((x) => x.topic === TOPICS.heartbeats).map((x) => x.partition).filter((p) => !folds.has(p));
      if (parts.length === 0) return;
      const restored = await restoreWithRetry(deps.restore, parts, log);
      for (const p of parts) {
        const fold = new PartitionFold();
        fold.restore([...(restored.get(p)?.values() ?? [])].map(fromImpedanceUpdated));
        folds.set(p, fold);
        pending.delete(p);
        try {
          if (!(await store.isBuilt(p))) {
            fold.touchAll();
            const all = fold.takeDirty();
            if (all.length > 0) await store.writeAgents(p, all);
            await store.markBuilt(p);
            log.info({ partition: p, agents: all.length }, 'registry rebuilt from the changelog');
          }
        } catch (err) {
          // Redis down: the first flush of the partition finds the marker missing and rebuilds.
          log.warn({ partition: p, err: (err as Error).message }, 'registry rebuild deferred');
        }
      }
      log.info({ partitions: parts, agents: parts.reduce((s, p) => s + (folds.get(p)?.agents.size ?? 0), 0) }, 'impedance state restored');
    },
    onRevoked(list) {
      for (const x of list) {
        if (x.topic !== TOPICS.heartbeats) continue;
        folds.delete(x.partition);
        pending.delete(x.partition);
        chunks.delete(x.partition);
      }
    },
  };
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
