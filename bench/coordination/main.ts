// make bench-coordination: the coordination loop of issue 18 on a BENCH_AGENTS-agent mesh (the
// simulator's heartbeats folded by the impedance service into a private Redis, the simulator's
// agents answering what is dispatched to them, the coordinator and the impedance service as their
// own processes, as an operator runs them), in one run, BENCH_RUNS times:
//   a. baselines: BENCH_BASELINE_RECORDS records paced at BENCH_RATE/s through the raw broker
//      (produce -> read back) and through the transactional relay of bench-solver-service (the
//      runtime, one transaction per batch, no work: the exactly-once floor of one hop), p50/p99;
//   b. BENCH_GATHERS one-sector coordinations (300 agents each), their T BENCH_STAGGER_MS apart:
//      for each decided ALL_ANSWERED or early, the time from its last counted ack (early: the ack
//      that decided it; the ack record's timestamp, taken when the agent produced it) to the QuorumDecided arriving at a
//      read_committed reader, the same path as the baselines' (one consume-transform-produce hop);
//   c. a broadcast to every sector (BENCH_AGENTS agents, humans SKIP) at T = now +
//      BENCH_BROADCAST_LEAD_MS: dispatch error (the MessageDispatched record's timestamp - its
//      send_at; the record is written at least `COORDINATOR_DISPATCH_AHEAD_MS` early by design), ack
//      arrival - T, and its decision.
//   d. BENCH_CASCADES wave cascades (seed 002 §3.3) over BENCH_CASCADE_SECTORS sectors (their
//      sector coordinators, cluster leads, then agents, each stage's T its start + BENCH_CASCADE_LEAD_MS),
//      one after another: each CascadeCompleted's latency (event time), p95 against the seed's 1000 ms;
//      as many again, taking turns with them, with each stage's lead sized to its targets
//      (BENCH_CASCADE_PATH_MS + their largest lead time, cascade-stages.ts), and each stage's hops.
// Medians over the runs of each run's p50 and p99, with ratios to the baselines.
//   BENCH_AGENTS (30000)  BENCH_RUNS (3)  BENCH_GATHERS (20)  BENCH_STAGGER_MS (300)
//   BENCH_LEAD_MS (5000)  BENCH_BROADCAST_LEAD_MS (8000)  BENCH_WINDOW_MS (500)
//   BENCH_RATE (100)  BENCH_BASELINE_RECORDS (500)  BENCH_GRACE_MS (5000: COORDINATOR_GATHER_GRACE_MS)
//   BENCH_CASCADES (5)  BENCH_CASCADE_SECTORS (10)  BENCH_CASCADE_LEAD_MS (2000)  BENCH_CASCADE_PATH_MS (700)
//   BENCH_AGENT_PROCESSES (2: the simulator's agents split over processes by mesh.dispatch partition)
// The coordinator's other knobs (COORDINATOR_DISPATCH_AHEAD_MS ...) pass through the environment to it.
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import Redis from 'ioredis';
import type { CascadeCompleted, CascadeRequested, QuorumDecided } from '../../schemas/generated/events';
import { agentLeadMs, seedStages } from '../../services/coordinator/cascade-stages';
import { closureOf, decidedEarly } from '../../services/coordinator/gather';
import { nearestRank } from '../../services/coordinator/kpis';
import { RegistryStore } from '../../services/impedance/registry-store';
import type { ReceiptFigures } from '../../services/simulator/receipt-stats';
import { COORDINATOR_KNOBS } from '../../services/coordinator/config';
import { registryPrefix } from '../../services/impedance';
import { readKnobs } from '../../services/runtime/knobs';
import { costUpdated } from '../../services/solver/events';
import { MESH_PARTITIONS } from '../../topics/catalog';
import { AGENTS_PER_SECTOR, fillRegistry, percentile, readMesh, sectorIds, sectorRequest, startAgents, startCoordinator, until, waitGroupStable, type Logged } from '../../test/support/coordination';
import { TestKafka } from '../../test/support/kafka';
import { freePort, PrivateRedis } from '../../test/int/impedance/support';
import { startRun, type SolverChild } from '../../test/int/solver/support';
import { benchConsumer, benchProducer, type BenchConsumer } from '../solver-service/clients';
import { median, pacedLatency, within, type LatencyFigures } from '../solver-service/measure';
import { freshTopics, PLAIN, readBaselines, startRelayProcess, type ServiceProcess } from '../solver-service/service';
import { benchRecord, type Figure } from '../report/figures';

const env = (name: string, def: number) => Number(process.env[name] ?? def);
const AGENTS = env('BENCH_AGENTS', 30_000);
const RUNS = env('BENCH_RUNS', 3);
const GATHERS = env('BENCH_GATHERS', 20);
const STAGGER_MS = env('BENCH_STAGGER_MS', 300);
const LEAD_MS = env('BENCH_LEAD_MS', 5000);
const BROADCAST_LEAD_MS = env('BENCH_BROADCAST_LEAD_MS', 8000);
const WINDOW_MS = env('BENCH_WINDOW_MS', 500);
const RATE = env('BENCH_RATE', 100);
const BASELINE_RECORDS = env('BENCH_BASELINE_RECORDS', 500);
const GRACE_MS = env('BENCH_GRACE_MS', 5000);
const CASCADES = env('BENCH_CASCADES', 5);
const CASCADE_SECTORS = env('BENCH_CASCADE_SECTORS', 10);
const CASCADE_LEAD_MS = env('BENCH_CASCADE_LEAD_MS', 2000);
const CASCADE_PATH_MS = env('BENCH_CASCADE_PATH_MS', 700);
const AGENT_PROCESSES = env('BENCH_AGENT_PROCESSES', 2);
const SECTORS = AGENTS / AGENTS_PER_SECTOR;

const say = (s: string) => process.stderr.write(`${s}\n`);
/** n/a for a figure with nothing measured (a percentile of no samples: every gather closed by its deadline). */
const fmt = (x: number | undefined, d = 1) => (x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(d));
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a');

const cascadeP95 = (cs: readonly CascadeCompleted[]) => nearestRank(cs.map((c) => c.latency_us / 1000), 95) ?? Number.NaN;

/** A cascade stage's critical path, piece by piece: each from one record's time to the next's. */
const PIECES = ['request -> schedule', 'schedule -> first send', 'first send -> T', 'T -> last ack', 'last ack -> decided', 'decided -> copied', 'copied -> next request'] as const;
type Piece = (typeof PIECES)[number];
interface Logs { bc: Map<string, Logged[]>; bs: Map<string, Logged[]>; bd: Map<string, Logged[]>; ba: Map<string, Logged[]>; bk: Map<string, Logged[]> }

/**
 * Per stage label (s0, s1, ...; 'cascade' for the request -> first stage and last stage ->
 * completion ends), each piece's samples over the cascades, ms between the records' timestamps
 * (when their producers wrote them), T from the stage's request. The last stage's 'copied -> next
 * request' is its copy -> CascadeCompleted.
 */
function criticalPath(cs: readonly CascadeCompleted[], l: Logs): Map<string, Map<Piece, number[]>> {
  const out = new Map<string, Map<Piece, number[]>>();
  const add = (stage: string, p: Piece, ms: number | undefined) => {
    if (ms === undefined || !Number.isFinite(ms)) return;
    const m = out.get(stage) ?? new Map<Piece, number[]>();
    out.set(stage, m);
    const xs = m.get(p) ?? [];
    m.set(p, xs);
    xs.push(ms);
  };
  const of = (m: Map<string, Logged[]>, key: string, type: string) => (m.get(key) ?? []).filter((r) => r.event.type === type);
  const minOf = (xs: number[]) => (xs.length > 0 ? Math.min(...xs) : undefined);
  const maxOf = (xs: number[]) => (xs.length > 0 ? Math.max(...xs) : undefined);
  const diff = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : b - a);
  for (const c of cs) {
    const started = c.stages.filter((x) => x.correlation_id !== null).sort((a, b) => a.started_at! - b.started_at!);
    const cascadeRecs = l.bk.get(c.meta.correlation_id) ?? [];
    const requested = cascadeRecs.find((r) => r.event.type === 'CascadeRequested')?.timestampMs;
    const completedAt = cascadeRecs.find((r) => r.event.type === 'CascadeCompleted')?.timestampMs;
    started.forEach((st, i) => {
      const id = st.correlation_id!;
      const stage = `s${st.stage_index}`;
      const req = of(l.bc, id, 'CoordinationRequested')[0];
      const reqMs = req?.timestampMs;
      const T = req?.event.type === 'CoordinationRequested' ? req.event.target_arrival_time / 1000 : undefined;
      // The cascade's own request -> its first stage's request.
      if (i === 0) add('cascade', 'copied -> next request', diff(requested, reqMs));
      const sched = maxOf(of(l.bs, id, 'ScheduleComputed').map((r) => r.timestampMs));
      const first = minOf(of(l.bd, id, 'MessageDispatched').map((r) => r.timestampMs));
      const lastAck = maxOf(of(l.ba, id, 'AckReceived').map((r) => r.timestampMs));
      const decided = of(l.ba, id, 'QuorumDecided')[0]?.timestampMs;
      const copied = cascadeRecs.find((r) => r.event.type === 'CascadeStageDecided' && r.event.stage_correlation_id === id)?.timestampMs;
      const nextReq = i + 1 < started.length ? of(l.bc, started[i + 1]!.correlation_id!, 'CoordinationRequested')[0]?.timestampMs : completedAt;
      add(stage, 'request -> schedule', diff(reqMs, sched));
      add(stage, 'schedule -> first send', diff(sched, first));
      add(stage, 'first send -> T', diff(first, T));
      add(stage, 'T -> last ack', diff(T, lastAck));
      add(stage, 'last ack -> decided', diff(lastAck, decided));
      add(stage, 'decided -> copied', diff(decided, copied));
      add(stage, 'copied -> next request', diff(copied, nextReq));
    });
  }
  return out;
}

/** Decisions as a read_committed reader receives them: arrival in epoch ms per correlation id. */
class Decisions {
  private readonly arrived = new Map<string, { at: number; event: QuorumDecided }>();
  private chain = Promise.resolve();
  constructor(private readonly k: TestKafka) {}

  async watch(): Promise<BenchConsumer> {
    return benchConsumer(this.k.brokers, this.k.topic('mesh.acks'), MESH_PARTITIONS, (rec) => {
      const at = performance.timeOrigin + rec.at;
      // Decoding is async; keep the arrival time taken on receipt.
      this.chain = this.chain.then(async () => {
        const { event } = await this.k.codec.decode(rec.value);
        if (event.type === 'QuorumDecided') this.arrived.set(event.meta.correlation_id, { at, event });
      });
    });
  }

  async of(correlationId: string, timeoutMs = 120_000): Promise<{ at: number; event: QuorumDecided }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.chain;
      const d = this.arrived.get(correlationId);
      if (d) return d;
      if (Date.now() > deadline) throw new Error(`no QuorumDecided of ${correlationId} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** When the ack that decided `d` was produced: the one it names as its cause when decided early, the last counted otherwise; undefined for a deadline's decision. */
function decidingAckMs(acks: readonly Logged[], d: QuorumDecided): number | undefined {
  if (decidedEarly(d)) return acks.find((r) => r.event.meta.event_id === d.meta.causation_id)?.timestampMs;
  return d.closed_by === 'ALL_ANSWERED' ? lastCountedAckMs(acks, d) : undefined;
}

/** The last ack the gather counted: the latest-produced AckReceived of the correlation that arrived by the window's end. */
function lastCountedAckMs(acks: readonly Logged[], d: QuorumDecided): number | undefined {
  let last: number | undefined;
  for (const r of acks) {
    const e = r.event;
    if (e.type !== 'AckReceived' || e.meta.correlation_id !== d.meta.correlation_id) continue;
    if (d.window_end_at !== null && e.actual_arrival_at > d.window_end_at) continue;
    if (last === undefined || r.timestampMs > last) last = r.timestampMs;
  }
  return last;
}

interface Run {
  raw: LatencyFigures;
  relay: LatencyFigures;
  ackToDecision: number[];
  gathers: string[];
  dispatchErr: number[];
  readableErr: number[];
  pastTtl: number;
  ackArrival: number[];
  broadcast: QuorumDecided;
  broadcastAckToDecision: number | undefined;
  cascades: CascadeCompleted[];
  sizedCascades: CascadeCompleted[];
}

async function main(): Promise<void> {
  const record = benchRecord('coordination', RUNS);
  if (!Number.isInteger(SECTORS) || SECTORS < 1) throw new Error(`BENCH_AGENTS must be a multiple of ${AGENTS_PER_SECTOR}, got ${AGENTS}`);
  const k = await TestKafka.create('bench-coord');
  const children: SolverChild[] = [];
  const agents: ChildProcess[] = [];
  let relay: ServiceProcess | undefined;
  const consumers: BenchConsumer[] = [];
  const redisSrv = new PrivateRedis(await freePort());
  // The agents' own receipt figures, a line a second (test/support/mesh-agents-process.ts).
  const receipts: Array<{ at: number; f: ReceiptFigures & { process: number } }> = [];
  const receiptsSince = (ms: number) => receipts.filter((r) => r.at >= ms).map(({ f }) => `[${f.process}] ${f.received} in lag p50 ${fmt(f.lagP50 ?? undefined, 0)} p99 ${fmt(f.lagP99 ?? undefined, 0)} max ${fmt(f.lagMax ?? undefined, 0)} ms, ${f.pastTtl} past ttl, ${f.acksSent} acks out (broker took them arrival + ${fmt(f.ackSendP50 ?? undefined, 0)}/${fmt(f.ackSendP99 ?? undefined, 0)} ms)`).join('; ');
  let redis: Redis | undefined;
  try {
    await freshTopics(k.brokers, k.prefix);
    await redisSrv.start();
    redis = new Redis(redisSrv.url);
    say(`bench-coordination: ${AGENTS} agents, ${RUNS} runs, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    const impedance = startRun(k, ['impedance'], { REDIS_URL: redisSrv.url, INSTANCE_ID: 'impedance-0' });
    children.push(impedance);
    const t0 = Date.now();
    await fillRegistry(k, redis, registryPrefix(k.prefix), AGENTS);
    say(`registry of ${AGENTS} agents filled in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    // The agents over AGENT_PROCESSES processes, each a share of mesh.dispatch's partitions: one
    // process decoding and answering 28,000 messages in the burst before T fell seconds behind on
    // the shared cores while a read_committed reader had them all before their send time.
    for (let i = 0; i < AGENT_PROCESSES; i++) {
      const proc = await startAgents(k, AGENTS, [], [...Array(MESH_PARTITIONS).keys()].filter((p) => p % AGENT_PROCESSES === i));
      agents.push(proc);
      proc.stdout!.on('data', (d: Buffer) => {
        for (const line of d.toString().split('\n')) if (line.startsWith('receipt ')) receipts.push({ at: Date.now(), f: { ...(JSON.parse(line.slice(8)) as ReceiptFigures), process: i } });
      });
    }
    const coordinator = startCoordinator(k, { INSTANCE_ID: 'coordinator-0', COORDINATOR_GATHER_GRACE_MS: String(GRACE_MS) });
    children.push(coordinator);
    await waitGroupStable(k, 'coordinator');
    relay = startRelayProcess(k.prefix);
    await relay.port();
    const ends = await readBaselines(k.brokers, k.codec, k.prefix);
    consumers.push(...ends.consumers);
    const decisions = new Decisions(k);
    consumers.push(await decisions.watch());
    // When each dispatched message became readable (read_committed: at its transaction's commit), as an agent can first see it.
    const readable: Array<{ at: number; value: Buffer }> = [];
    consumers.push(await benchConsumer(k.brokers, k.topic('mesh.dispatch'), MESH_PARTITIONS, (rec) => { readable.push({ at: performance.timeOrigin + rec.at, value: rec.value }); }));
    const producer = await benchProducer(k.brokers, { lingerMs: 0 });

    const costs = `${k.prefix}solver.costs`;
    const baselineValues = async (n: number) => Promise.all(Array.from({ length: n }, async (_, i) => k.codec.encode(costs, costUpdated('bench-coordination', `b-${randomBytes(6).toString('hex')}`, { indices: [i % 100], values: [0.001], flush: true, source: 'bench', occurredAt: Date.now() * 1000 }))));
    const rawPath = { topic: `${k.prefix}${PLAIN}`, key: 'bench-coordination', coverage: ends.plain };
    const relayPath = { topic: `${k.prefix}${PLAIN}`, key: 'bench-coordination', coverage: ends.relayed };

    const broadcast = async (): Promise<{ d: QuorumDecided; at: number; corr: string; T: number }> => {
      const req = sectorRequest(sectorIds(0, SECTORS), BROADCAST_LEAD_MS, WINDOW_MS, 'bench-orchestrator');
      await k.sendEvents('mesh.coordination', [{ key: req.meta.correlation_id, event: req }]);
      const { at, event } = await decisions.of(req.meta.correlation_id, BROADCAST_LEAD_MS + 120_000);
      return { d: event, at, corr: req.meta.correlation_id, T: req.target_arrival_time };
    };

    const store = new RegistryStore(redis, registryPrefix(k.prefix));
    const cascadeSectors = new Set(sectorIds(0, Math.min(CASCADE_SECTORS, SECTORS)).map((x) => x.slice('sector:'.length)));
    /** A wave cascade with every stage's lead CASCADE_LEAD_MS, or sized to its targets (path CASCADE_PATH_MS + their largest lead). */
    const cascade = async (sized: boolean): Promise<CascadeCompleted> => {
      const agents = (await store.snapshots()).filter((a) => a.state === 'ACTIVE' && cascadeSectors.has(a.sectorId));
      const leadOf = new Map([...(await store.scheduleAgents(agents.map((a) => a.agentId))).values()].map((a) => [a.agentId, agentLeadMs(a)]));
      const timing = { leadMs: CASCADE_LEAD_MS, timeoutMs: 5000, ...(sized ? { sized: { pathMs: CASCADE_PATH_MS, leadOf } } : {}) };
      const id = `bench-cascade-${randomBytes(6).toString('hex')}`;
      const req: CascadeRequested = {
        type: 'CascadeRequested', meta: { event_id: randomUUID(), correlation_id: id, causation_id: null, occurred_at: Date.now() * 1000, producer: 'bench', sequence: null },
        strategy: 'WAVE', stages: seedStages('WAVE', agents, timing), payload_weight: 0, priority: 2, source_agent_id: 'bench-orchestrator',
      };
      await k.sendEvents('mesh.cascades', [{ key: id, event: req }]);
      return (await until(k, 'mesh.cascades', 'CascadeCompleted', id, (rs) => rs.length > 0, 120_000))[0]!.event;
    };

    /** Where a cascade's stages spent their time: each hop's record time (wall) from the stage's start (event time), ms. */
    const by = (rs: Logged[]) => {
      const m = new Map<string, Logged[]>();
      for (const r of rs) { const c = r.event.meta.correlation_id; const xs = m.get(c); if (xs) xs.push(r); else m.set(c, [r]); }
      return m;
    };
    const cascadeHops = async (cs: readonly CascadeCompleted[]) => {
      const read = async (t: string) => by(await readMesh(k, t));
      const [bc, bs, bd, ba, bk] = await Promise.all([read('mesh.coordination'), read('mesh.schedules'), read('mesh.dispatch'), read('mesh.acks'), read('mesh.cascades')]);
      for (const c of cs) {
        const parts = c.stages.filter((x) => x.correlation_id !== null).map((st) => {
          const id = st.correlation_id!;
          const t0 = st.started_at! / 1000;
          const rel = (ms: number | undefined) => (ms === undefined ? '-' : (ms - t0).toFixed(0));
          const of = (m: Map<string, Logged[]>, key: string, type: string) => (m.get(key) ?? []).filter((r) => r.event.type === type);
          const req = of(bc, id, 'CoordinationRequested')[0];
          const T = req?.event.type === 'CoordinationRequested' ? req.event.target_arrival_time / 1000 : undefined;
          const sc = of(bs, id, 'ScheduleComputed').map((r) => r.timestampMs);
          const ds = of(bd, id, 'MessageDispatched').map((r) => r.timestampMs);
          const ak = of(ba, id, 'AckReceived').map((r) => r.timestampMs);
          const qd = of(ba, id, 'QuorumDecided')[0];
          const copied = (bk.get(c.meta.correlation_id) ?? []).find((r) => r.event.type === 'CascadeStageDecided' && r.event.stage_correlation_id === id);
          const max = (xs: number[]) => (xs.length > 0 ? Math.max(...xs) : undefined);
          const min = (xs: number[]) => (xs.length > 0 ? Math.min(...xs) : undefined);
          return `s${st.stage_index} ${st.outcome} [request ${rel(req?.timestampMs)}, schedule ${rel(max(sc))}, dispatch ${rel(min(ds))}..${rel(max(ds))}, T ${rel(T)}, acks ..${rel(max(ak))} (${ak.length}), decided ${rel(qd?.timestampMs)}${qd?.event.type === 'QuorumDecided' ? ` ${closureOf(qd.event)}` : ''}, copied ${rel(copied?.timestampMs)}, ended ${rel(st.ended_at! / 1000)}]`;
        });
        say(`  cascade ${c.status} ${fmt(c.latency_us / 1000, 0)} ms, ms from each stage's start: ${parts.join(' ')}`);
      }
      const pieces = criticalPath(cs, { bc, bs, bd, ba, bk });
      say(`  critical path, medians over ${cs.length} cascades, ms (record times): ${[...pieces].map(([stage, ps]) => `${stage}: ${PIECES.filter((p) => ps.has(p)).map((p) => `${p} ${fmt(median(ps.get(p)!), 0)}`).join(', ')}`).join('; ')}`);
      return pieces;
    };

    // Warm-up, not measured: the processes' first messages (connections, schema lookups, code not yet optimised).
    await pacedLatency(producer, rawPath, await baselineValues(100), RATE);
    await pacedLatency(producer, relayPath, await baselineValues(100), RATE);
    const warmFrom = Date.now();
    const warm = await broadcast();
    await new Promise((r) => setTimeout(r, 1100));
    say(`  warm-up: the agents' receipt per second: ${receiptsSince(warmFrom)}`);
    say(`warm-up broadcast: ${warm.d.decision} by ${closureOf(warm.d)}, ${warm.d.ready_count}/${warm.d.sent_count} ready`);

    const runs: Run[] = [];
    for (let r = 0; r < RUNS; r++) {
      const raw = await pacedLatency(producer, rawPath, await baselineValues(BASELINE_RECORDS), RATE);
      const relayed = await pacedLatency(producer, relayPath, await baselineValues(BASELINE_RECORDS), RATE);

      // b. staggered one-sector gathers
      const reqs = Array.from({ length: GATHERS }, (_, i) => sectorRequest(sectorIds(i % SECTORS, 1), LEAD_MS + i * STAGGER_MS, WINDOW_MS, 'bench-orchestrator'));
      await k.sendEvents('mesh.coordination', reqs.map((q) => ({ key: q.meta.correlation_id, event: q })));
      const decided = await Promise.all(reqs.map(async (q) => decisions.of(q.meta.correlation_id, LEAD_MS + GATHERS * STAGGER_MS + 120_000)));
      let acks = await readMesh(k, 'mesh.acks');
      const ackToDecision: number[] = [];
      for (const { at, event } of decided) {
        const last = decidingAckMs(acks, event);
        if (last !== undefined) ackToDecision.push(at - last);
      }
      const gathers = decided.map(({ event }) => `${event.decision}/${closureOf(event)}`);

      // c. the broadcast
      const broadcastFrom = Date.now();
      readable.length = 0;
      const b = await broadcast();
      await new Promise((r) => setTimeout(r, 1100));
      say(`  broadcast: the agents' receipt per second: ${receiptsSince(broadcastFrom)}`);
      const chunks = await until(k, 'mesh.schedules', 'ScheduleComputed', b.corr, (rs) => rs.length > 0);
      const schedule = chunks.flatMap((x) => x.event.entries);
      // When the impedance service had written the whole schedule, and the earliest send time in it (ms before T)
      const scheduledBeforeT = b.T / 1000 - Math.max(...chunks.map((x) => x.timestampMs));
      const firstSendBeforeT = (b.T - Math.min(...schedule.flatMap((e) => (e.send_at === null ? [] : [e.send_at])))) / 1000;
      const sendAt = new Map(schedule.filter((e) => e.status === 'SCHEDULED').map((e) => [e.agent_id, e.send_at!]));
      const dispatchErr: number[] = [];
      const readableErr: number[] = [];
      for (const r of readable.splice(0)) {
        const { event } = await k.codec.decode(r.value);
        if (event.type === 'MessageDispatched' && event.meta.correlation_id === b.corr) readableErr.push(r.at - event.send_at / 1000);
      }
      // Messages whose record was written after their ttl ran out: no agent can answer them (the dispatch was late, not the agents).
      let pastTtl = 0;
      for (const x of await readMesh(k, 'mesh.dispatch')) {
        if (x.event.type !== 'MessageDispatched' || x.event.meta.correlation_id !== b.corr) continue;
        dispatchErr.push(x.timestampMs - sendAt.get(x.event.agent_id)! / 1000);
        if (x.timestampMs * 1000 > x.event.expires_at) pastTtl++;
      }
      // The ticks that released the sends: how late each was written (record time - its bucket), and how long after it its messages were
      const ticks = await until(k, 'mesh.schedules', 'DispatchDue', b.corr, (rs) => rs.length > 0);
      const tickLate = ticks.map((x) => x.timestampMs - x.event.due_at / 1000);
      acks = await readMesh(k, 'mesh.acks');
      const ackArrival = acks.flatMap((x) => (x.event.type === 'AckReceived' && x.event.meta.correlation_id === b.corr ? [(x.event.actual_arrival_at - b.T) / 1000] : []));
      const bLast = decidingAckMs(acks, b.d);
      // d. wave cascades, one after another
      // the agents' backlog of the broadcast's acks gone first
      await new Promise((r) => setTimeout(r, 3000));
      const cascades: CascadeCompleted[] = [];
      const sizedCascades: CascadeCompleted[] = [];
      // fixed and sized leads taking turns, so both meet the same load
      for (let i = 0; i < CASCADES; i++) { cascades.push(await cascade(false)); sizedCascades.push(await cascade(true)); }
      say(`  wave cascades, fixed leads (load ${loadavg()[0]!.toFixed(1)}):`);
      await cascadeHops(cascades);
      say(`  wave cascades, leads sized to their targets (load ${loadavg()[0]!.toFixed(1)}):`);
      await cascadeHops(sizedCascades);
      const run: Run = { raw, relay: relayed, ackToDecision, gathers, dispatchErr, readableErr, pastTtl, ackArrival, broadcast: b.d, broadcastAckToDecision: bLast === undefined ? undefined : b.at - bLast, cascades, sizedCascades };
      runs.push(run);
      const counts = new Map<string, number>();
      for (const g of gathers) counts.set(g, (counts.get(g) ?? 0) + 1);
      say(`run ${r + 1}/${RUNS}: raw p50 ${fmt(raw.p50)} p99 ${fmt(raw.p99)} ms; relay p50 ${fmt(relayed.p50)} p99 ${fmt(relayed.p99)} ms; `
        + `${GATHERS} gathers (${[...counts].map(([g, n]) => `${n} ${g}`).join(', ')}): last ack -> decision p50 ${fmt(percentile(ackToDecision, 50))} p99 ${fmt(percentile(ackToDecision, 99))} ms of ${ackToDecision.length}; `
        + `broadcast ${dispatchErr.length} sent of ${schedule.length} (schedule written by T - ${fmt(scheduledBeforeT, 0)} ms, first send_at T - ${fmt(firstSendBeforeT, 0)} ms): dispatch error p50 ${fmt(percentile(dispatchErr, 50))} p99 ${fmt(percentile(dispatchErr, 99))} ms, readable - send_at p50 ${fmt(percentile(readableErr, 50))} p99 ${fmt(percentile(readableErr, 99))} ms of ${readableErr.length} (${pastTtl} written after their ttl; ${ticks.length} ticks written at bucket ${fmt(percentile(tickLate, 50), 0)} / ${fmt(percentile(tickLate, 99), 0)} ms p50/p99), ack arrival - T p50 ${fmt(percentile(ackArrival, 50))} p99 ${fmt(percentile(ackArrival, 99))} ms (${ackArrival.length} acks), `
        + `${b.d.decision} ${b.d.gather_status} by ${closureOf(b.d)} ready ${b.d.ready_count}/${b.d.sent_count}, decision read at T + ${fmt(b.at - b.T / 1000, 0)} ms${run.broadcastAckToDecision === undefined ? '' : `, last ack -> decision ${fmt(run.broadcastAckToDecision, 0)} ms`}; `
        + `${CASCADES} wave cascades with ${CASCADE_LEAD_MS} ms leads (${cascades.map((c) => `${c.status} ${fmt(c.latency_us / 1000, 0)}`).join(', ')} ms): p95 ${fmt(cascadeP95(cascades), 0)} ms; `
        + `${CASCADES} with sized leads (${sizedCascades.map((c) => `${c.status} ${fmt(c.latency_us / 1000, 0)}`).join(', ')} ms): p95 ${fmt(cascadeP95(sizedCascades), 0)} ms (${ratio(cascadeP95(sizedCascades), cascadeP95(cascades))}); load ${loadavg()[0]!.toFixed(1)}`);
    }
    await producer.close();

    const med = (f: (r: Run) => number) => median(runs.map(f));
    const raw50 = med((r) => r.raw.p50), raw99 = med((r) => r.raw.p99);
    const rel50 = med((r) => r.relay.p50), rel99 = med((r) => r.relay.p99);
    const a50 = med((r) => percentile(r.ackToDecision, 50)), a99 = med((r) => percentile(r.ackToDecision, 99));
    const d50 = med((r) => percentile(r.dispatchErr, 50)), d99 = med((r) => percentile(r.dispatchErr, 99));
    const ahead = readKnobs(COORDINATOR_KNOBS, process.env).coordinatorDispatchAheadMs;
    process.stdout.write([
      `bench-coordination: ${AGENTS}-agent mesh, medians of ${RUNS} runs (load ${loadavg().map((x) => x.toFixed(1)).join(' ')})`,
      `  baseline raw broker round trip        p50 ${fmt(raw50)}  p99 ${fmt(raw99)} ms`,
      `  baseline transactional relay (1 hop)   p50 ${fmt(rel50)}  p99 ${fmt(rel99)} ms`,
      `  last ack -> QuorumDecided (the ALL_ANSWERED and early ones of ${GATHERS} sector gathers/run)  p50 ${fmt(a50)} (${ratio(a50, rel50)} relay, ${ratio(a50, raw50)} raw)  p99 ${fmt(a99)} (${ratio(a99, rel99)} relay, ${ratio(a99, raw99)} raw) ms`,
      `  broadcast dispatch error (record time - send_at; ticks written >= ${ahead} ms ahead)  p50 ${fmt(d50)}  p99 ${fmt(d99)} ms (p99 spread above p50 ${fmt(d99 - d50)} ms = ${ratio(d99 - d50, raw99 - raw50)} the raw round trip's, ${ratio(d99 - d50, rel99 - rel50)} the relay's)`,
      `  broadcast dispatch readable (read_committed reader) - send_at  p50 ${fmt(med((r) => percentile(r.readableErr, 50)))}  p99 ${fmt(med((r) => percentile(r.readableErr, 99)))} ms`,
      `  broadcast ack arrival - T  p50 ${fmt(med((r) => percentile(r.ackArrival, 50)))}  p99 ${fmt(med((r) => percentile(r.ackArrival, 99)))} ms (window ${WINDOW_MS} ms)`,
      `  broadcast decisions: ${runs.map((r) => `${r.broadcast.decision}/${closureOf(r.broadcast)} ready ${r.broadcast.ready_count}/${r.broadcast.sent_count} (${r.pastTtl} written after their ttl)`).join(', ')}`,
      `  wave cascade latency (${CASCADE_SECTORS} sectors, stage lead ${CASCADE_LEAD_MS} ms) p95 ${fmt(med((r) => cascadeP95(r.cascades)), 0)} ms (seed target <= 1000 ms; ${ratio(med((r) => cascadeP95(r.cascades)), 3 * CASCADE_LEAD_MS)} the three stages' leads): ${runs.map((r) => r.cascades.map((c) => c.status).join('/')).join(', ')}`,
      `  wave cascade latency, leads sized to each stage's targets (path ${CASCADE_PATH_MS} ms + their largest lead) p95 ${fmt(med((r) => cascadeP95(r.sizedCascades)), 0)} ms (${ratio(med((r) => cascadeP95(r.sizedCascades)), med((r) => cascadeP95(r.cascades)))} the fixed leads' in the same runs): ${runs.map((r) => r.sizedCascades.map((c) => c.status).join('/')).join(', ')}`,
      '',
    ].join('\n'));
    const section = `${AGENTS}-agent mesh`;
    const figures: Figure[] = [
      { section, name: 'last ack -> QuorumDecided p50', value: a50, unit: 'ms', better: 'lower', baseline: { name: 'transactional relay p50', value: rel50 } },
      { section, name: 'last ack -> QuorumDecided p99', value: a99, unit: 'ms', better: 'lower', baseline: { name: 'transactional relay p99', value: rel99 } },
      { section, name: 'broadcast dispatch readable - send_at p99', value: med((r) => percentile(r.readableErr, 99)), unit: 'ms', better: 'lower' },
      { section, name: 'broadcast dispatch error p99 - p50', value: d99 - d50, unit: 'ms', better: 'lower', baseline: { name: 'raw round trip p99 - p50', value: raw99 - raw50 } },
      { section, name: 'wave cascade latency p95', value: med((r) => cascadeP95(r.cascades)), unit: 'ms', better: 'lower', baseline: { name: "three stages' leads", value: 3 * CASCADE_LEAD_MS }, target: '<= 1000 ms (seed 002 §11)' },
      { section, name: 'wave cascade latency p95, sized leads', value: med((r) => cascadeP95(r.sizedCascades)), unit: 'ms', better: 'lower', baseline: { name: `fixed ${CASCADE_LEAD_MS} ms leads`, value: med((r) => cascadeP95(r.cascades)) }, target: '<= 1000 ms (seed 002 §11)' },
    ];
    record.done(figures);
  } catch (err) {
    // what the services said, for a run that did not get its decisions
    for (const c of children) say(`--- ${c.proc.spawnargs.slice(-1).join(' ')} output (last 4000 chars):\n${c.output().slice(-4000)}`);
    throw err;
  } finally {
    for (const c of consumers) await c.close().catch(() => undefined);
    await relay?.stop();
    for (const a of agents) a.kill('SIGTERM');
    for (const c of children) c.proc.kill('SIGTERM');
    await within(Promise.all(children.map((c) => c.exited)), 15_000, 'the services to stop').catch(() => children.forEach((c) => c.proc.kill('SIGKILL')));
    redis?.disconnect();
    await redisSrv.stop();
    await k.close();
  }
}

main().then(() => process.exit(0), (err: unknown) => { say(`bench-coordination failed: ${(err as Error).stack ?? String(err)}`); process.exit(1); });
