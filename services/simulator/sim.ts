// The simulator's edge: produces the generator's heartbeats to mesh.heartbeats (paced in real
// time, or as fast as possible for a fixed count), and its agents answer the messages the
// coordinator dispatches to them on mesh.dispatch with acks on mesh.acks, each at its simulated
// arrival.
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import type * as Rd from 'node-rdkafka';
import { kafkajsConfig, rdkafkaAuth } from '../runtime/credentials';
import { cb, rd, watermarksOf } from '../runtime/kafka/rdkafka-lib';
import { createRdkafkaEngine, FETCH_BYTES_PER_PARTITION } from '../runtime/kafka/rdkafka-engine';
import { createLogger } from '../runtime/logger';
import { topicSpec } from '../../topics/catalog';
import type { AckReceived, HeartbeatReceived, SolvermeshEvent } from '../../schemas/generated/events';
import { EventCodec } from '../runtime/codec';
import type { RuntimeConfig } from '../runtime/config';
import { meshIdentity, type AgentSigner } from './identity';
import { ack, buildMesh, heartbeat, NO_FAULTS, prng, type AgentProfile, type Faults } from './generator';
import type { ReceiptStats } from './receipt-stats';

export interface SimOptions {
  readonly config: RuntimeConfig;
  readonly agents: number;
  /** Stop after this much wall time (real-time pacing: one heartbeat per agent per 5 s). */
  readonly durationMs?: number;
  /** Stop after this many heartbeats, produced as fast as the broker takes them. */
  readonly count?: number;
  readonly seed?: number;
  readonly faults?: Faults;
  /** Event time of period 0, µs (default: now). */
  readonly startUs?: number;
  /** Answer dispatched messages with acks while running. */
  readonly acks?: boolean;
  readonly onProgress?: (p: SimProgress) => void;
  readonly signal?: AbortSignal;
}

export interface SimProgress {
  readonly sent: number;
  readonly acks: number;
  readonly elapsedMs: number;
  readonly ratePerS: number;
}

const PERIOD_US = 5_000_000;

export async function runMeshSim(o: SimOptions): Promise<SimProgress> {
  const mesh = buildMesh(o.agents, o.seed ?? 1);
  const byId = new Map(mesh.map((a) => [a.agentId, a]));
  const faults = o.faults ?? NO_FAULTS;
  const rand = prng((o.seed ?? 1) + 7);
  const kafka = new Kafka(kafkajsConfig({ clientId: `${o.config.clientId}-sim`, brokers: o.config.kafkaBrokers, logLevel: logLevel.NOTHING }));
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const codec = new EventCodec(o.config.schemaRegistryUrl);
  const signer = await meshIdentity(o.config, codec, mesh.map((a) => a.agentId));
  const topic = (t: string) => o.config.topicPrefix + t;
  const t0 = Date.now();
  const startUs = o.startUs ?? t0 * 1000;
  let sent = 0;
  let acks = 0;
  const progress = (): SimProgress => {
    const elapsedMs = Date.now() - t0;
    return { sent, acks, elapsedMs, ratePerS: elapsedMs > 0 ? (sent * 1000) / elapsedMs : 0 };
  };
  const send = async (beats: HeartbeatReceived[]) => {
    if (beats.length === 0) return;
    const messages = await Promise.all(beats.map(async (b) => ({ key: b.agent_id, value: await codec.encode(topic('mesh.heartbeats'), signer.sign(b)) })));
    await producer.send({ topic: topic('mesh.heartbeats'), acks: -1, messages });
    sent += beats.length;
  };

  const stopAcks = o.acks ? await answerDispatches(o.config, codec, signer, byId, faults, rand, () => { acks++; }) : undefined;
  let lastReport = Date.now();
  const report = () => {
    if (Date.now() - lastReport >= 1000) { lastReport = Date.now(); o.onProgress?.(progress()); }
  };
  try {
    if (o.count !== undefined) {
      // As fast as possible: whole periods in agent order, event time as if in real time.
      const batch: HeartbeatReceived[] = [];
      // A whole period without a heartbeat (every agent dead) ends it: none would come later.
      let inPeriod = 0;
      for (let i = 0; sent + batch.length < o.count && !o.signal?.aborted; i++) {
        if (i % mesh.length === 0 && i > 0) { if (inPeriod === 0) break; inPeriod = 0; }
        const a = mesh[i % mesh.length]!;
        const hb = heartbeat(a, startUs, Math.floor(i / mesh.length), rand, faults);
        if (hb) { batch.push(hb); inPeriod++; }
        if (batch.length >= 2000) { await send(batch.splice(0)); report(); }
      }
      await send(batch);
    } else {
      // Real time: every 100 ms, the agents whose heartbeat phase fell in the last 100 ms.
      const end = t0 + (o.durationMs ?? Infinity);
      let doneUpTo = 0; // µs since start
      while (Date.now() < end && !o.signal?.aborted) {
        const nowUs = (Date.now() - t0) * 1000;
        const beats: HeartbeatReceived[] = [];
        for (let at = doneUpTo; at < nowUs; ) {
          const period = Math.floor(at / PERIOD_US);
          const within = at - period * PERIOD_US;
          const until = Math.min(nowUs, (period + 1) * PERIOD_US);
          for (const a of agentsInPhase(mesh, within, until - period * PERIOD_US)) {
            const hb = heartbeat(a, startUs, period, rand, faults);
            if (hb) beats.push(hb);
          }
          at = until;
        }
        doneUpTo = nowUs;
        await send(beats);
        report();
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    o.onProgress?.(progress());
    await stopAcks?.();
    await producer.disconnect();
  }
  return progress();
}

/** Agents with phase in [fromUs, toUs) (phases are sorted by index). */
function agentsInPhase(mesh: readonly AgentProfile[], fromUs: number, toUs: number): AgentProfile[] {
  const n = mesh.length;
  const first = Math.ceil((fromUs * n) / PERIOD_US);
  const out: AgentProfile[] = [];
  for (let i = Math.max(0, first - 1); i < n && mesh[i]!.phaseUs < toUs; i++) if (mesh[i]!.phaseUs >= fromUs) out.push(mesh[i]!);
  return out;
}

export interface MeshAgentsOptions {
  readonly config: RuntimeConfig;
  readonly mesh: readonly AgentProfile[];
  readonly faults?: Faults;
  readonly seed?: number;
  readonly onAck?: () => void;
  /** Measures their receipt (lag behind the dispatch records, messages past their ttl, ack sends). */
  readonly stats?: ReceiptStats;
  /** The mesh.dispatch partitions these agents read (default all): a mesh's agents split over processes, each its share. */
  readonly partitions?: readonly number[];
}

/** The mesh's agents answering what is dispatched to them, without heartbeats; the result stops them. */
export async function startMeshAgents(o: MeshAgentsOptions): Promise<() => Promise<void>> {
  const codec = new EventCodec(o.config.schemaRegistryUrl);
  const signer = await meshIdentity(o.config, codec, o.mesh.map((a) => a.agentId));
  return answerDispatches(o.config, codec, signer, new Map(o.mesh.map((a) => [a.agentId, a])), o.faults ?? NO_FAULTS, prng((o.seed ?? 1) + 7), o.onAck ?? (() => undefined), o.stats, o.partitions);
}

/** Acks due at a wall time, produced when it comes: an agent answers when it is READY. */
const ACK_TICK_MS = 5;
/** Most records one poll hands over. */
const RECEIVE_BATCH = 5000;

/**
 * The agents' end of mesh.dispatch: node-rdkafka, as the services, with every partition assigned
 * by hand at its end (the agents answer what is sent from now on) and read_committed. librdkafka
 * fetches and parses on its own threads; each poll hands over what has arrived (one wait for a
 * first record, then only what is already fetched), and the whole batch counts as received when
 * the poll returns: a 30,000-agent broadcast comes in a burst just before T, and kafkajs's
 * in-process fetch parsing, at ~14,000 records/s on the shared 2 cores, left 12,265 of 28,004
 * messages to reach their agents 2.3 s late, after their ttl.
 */
async function dispatchReceiver(config: RuntimeConfig, onBatch: (batch: readonly Rd.Message[], receivedMs: number) => void, only?: readonly number[]): Promise<() => Promise<void>> {
  const topic = config.topicPrefix + 'mesh.dispatch';
  const c: Rd.KafkaConsumer = new (rd().KafkaConsumer)({
    'metadata.broker.list': config.kafkaBrokers.join(','), ...rdkafkaAuth(), 'client.id': `${config.clientId}-agents`,
    'group.id': `${config.topicPrefix}simulator-agents-${randomBytes(3).toString('hex')}`, 'enable.auto.commit': false,
    'isolation.level': 'read_committed', 'fetch.wait.max.ms': 10, 'max.partition.fetch.bytes': FETCH_BYTES_PER_PARTITION,
  }, {});
  await cb((done) => c.connect({}, (err) => done(err)));
  const partitions = only ?? [...Array(topicSpec('mesh.dispatch').partitions).keys()];
  const ends = await Promise.all(partitions.map((p) => watermarksOf(c, topic, p)));
  c.assign(ends.map((w, i) => ({ topic, partition: partitions[i]!, offset: w.highOffset })));
  let running = true;
  const loop = (async () => {
    while (running) {
      c.setDefaultConsumeTimeout(50);
      const first = await cb<Rd.Message[]>((done) => c.consume(1, (err, m) => done(err, m))).catch(() => [] as Rd.Message[]);
      if (!first || first.length === 0) continue;
      c.setDefaultConsumeTimeout(0);
      const rest = await cb<Rd.Message[]>((done) => c.consume(RECEIVE_BATCH - 1, (err, m) => done(err, m))).catch(() => [] as Rd.Message[]);
      onBatch(rest && rest.length > 0 ? first.concat(rest) : first, Date.now());
    }
  })();
  return async () => {
    running = false;
    await loop;
    c.unassign();
    await cb((done) => c.disconnect((err) => done(err))).catch(() => undefined);
  };
}

async function answerDispatches(
  config: RuntimeConfig, codec: EventCodec, signer: AgentSigner, byId: ReadonlyMap<string, AgentProfile>, faults: Faults, rand: () => number, onAck: () => void, stats?: ReceiptStats, partitions?: readonly number[],
): Promise<() => Promise<void>> {
  const prefix = config.topicPrefix;
  const producer = await createRdkafkaEngine({ brokers: config.kafkaBrokers, clientId: `${config.clientId}-agents`, instanceId: config.instanceId, logger: createLogger('warn', 'simulator') })
    .producer({ lingerMs: 5, deliveryPollMs: 5 });
  // An agent answers at its arrival: the ack's schema id is found now, not then.
  await codec.schemaId(prefix + 'mesh.acks', 'AckReceived');
  // Acks by the ms they are due: each tick takes the buckets that are due instead of scanning
  // every ack waiting (a 30,000-agent broadcast keeps ~30,000 waiting for T).
  const due = new Map<number, AckReceived[]>();
  // One send at a time, each taking every ack due by then: under load a send per tick would
  // queue behind the previous ones and the acks would leave ever later.
  let inFlight: Promise<void> | undefined;
  let failure: unknown;
  const flush = () => {
    if (inFlight) return;
    const nowMs = Date.now();
    const ready: AckReceived[] = [];
    for (const [ms, xs] of due) {
      if (ms > nowMs) continue;
      ready.push(...xs);
      due.delete(ms);
    }
    if (ready.length === 0) return;
    inFlight = (async () => {
      // Signed as they leave, in send order: the sequence rises in each partition's order.
      const records = await Promise.all(ready.map(async (unsigned) => {
        const x = signer.sign(unsigned);
        return { topic: prefix + 'mesh.acks', key: x.meta.correlation_id, value: codec.encodeKnown(prefix + 'mesh.acks', x) ?? await codec.encode(prefix + 'mesh.acks', x) };
      }));
      await producer.send(records);
      const sentMs = Date.now();
      for (const x of ready) { onAck(); stats?.acked(sentMs - x.actual_arrival_at / 1000); }
    })().catch((err: unknown) => { failure ??= err; }).finally(() => { inFlight = undefined; flush(); });
  };
  const timer = setInterval(flush, ACK_TICK_MS);
  const take = (m: SolvermeshEvent, recordMs: number, nowMs: number) => {
    if (m.type !== 'MessageDispatched') return;
    const a = byId.get(m.agent_id);
    if (a && stats) { stats.received(nowMs - recordMs); if (nowMs * 1000 > m.expires_at) stats.expired(); }
    const x = a && ack(a, m, rand, faults, nowMs * 1000, recordMs * 1000);
    if (!x) return;
    const ms = Math.floor(x.actual_arrival_at / 1000);
    const bucket = due.get(ms);
    if (bucket) bucket.push(x);
    else due.set(ms, [x]);
  };
  // Decoded without a promise once the schema is known (one await per message left most of a
  // broadcast's messages to reach their agents after their ttl).
  const stopReceiving = await dispatchReceiver(config, (batch, receivedMs) => {
    for (const m of batch) {
      if (!m.value) continue;
      const known = codec.decodeKnown(m.value);
      if (known) take(known.event, m.timestamp ?? receivedMs, receivedMs);
      else void codec.decode(m.value).then((d) => take(d.event, m.timestamp ?? receivedMs, Date.now()), (err: unknown) => { failure ??= err; });
    }
  }, partitions).catch(async (err: unknown) => {
    clearInterval(timer);
    await producer.close();
    throw new Error(`the agents' consumer of ${prefix}mesh.dispatch did not start: ${(err as Error).message}`);
  });
  return async () => {
    clearInterval(timer);
    await stopReceiving();
    await inFlight;
    await producer.close();
    if (failure !== undefined) throw new Error(`acks not sent: ${(failure as Error).message}`);
  };
}
