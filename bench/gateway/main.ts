// make bench-gateway: the gateway (`solvermesh run gateway`, its own process, so its memory and
// CPU are its own) with the solver and a transactional relay beside it, in one run:
//   a. BENCH_STREAMS SSE streams of one session held open on the one instance; all open, then
//      a cost update posted and the time until every stream has the iteration reflecting it
//      (BENCH_FANOUT_ROUNDS times); the gateway's memory after a full GC before and with the
//      streams open (RSS and heap), per stream;
//   b. latency from POST /swarm/costs to the SSE event (IterationCompleted/ConvergenceReached)
//      whose applied_through covers the update, on a small session, paced at BENCH_RATE/s, p50
//      and p99; beside the same updates sent by a Kafka producer to a plain topic and read back
//      (raw round trip), and through the transactional relay (the solver's runtime and tuning,
//      one transaction per batch, no solving: the exactly-once floor); POST->ack shown apart;
//   c. cost updates per second through HTTP (one NDJSON body of BENCH_INGEST_UPDATES) beside
//      `solvermesh produce cost --stdin` with the same updates, solver and relay stopped.
// Medians of BENCH_RUNS runs for b and c, ratios against the baselines, targets from issue 16.
//   BENCH_STREAMS (1000)  BENCH_FANOUT_ROUNDS (5)  BENCH_RUNS (3)  BENCH_RATE (100)
//   BENCH_LATENCY_UPDATES (500)  BENCH_INGEST_UPDATES (100000)  BENCH_KEEP_LOG (file for the gateway's log)
//   BENCH_GATEWAY_NODE_ARGS (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof: the gateway's own node flags)
// The gateway's own knobs (GATEWAY_*) pass through the environment to it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { hashToken } from '../../services/gateway/auth';
import { FOLDED_TOPICS } from '../../services/gateway/hub';
import { EventCodec } from '../../services/runtime/codec';
import { loadConfig } from '../../services/runtime/config';
import { costUpdated } from '../../services/solver/events';
import { deletePrefixedTopics } from '../../topics/apply';
import { poisson2d, smoothRhs } from '../../wasm/src/problems';
import { benchProducer, type BenchProducer } from '../solver-service/clients';
import { Coverage, figures, median, pacedLatency, within, type LatencyFigures, type Path } from '../solver-service/measure';
import { counter, freshTopics, PLAIN, readBaselines, startRelayProcess, startServiceProcess, startSolverProcess, type BaselineEnds } from '../solver-service/service';
import { costsThrough, GatewayClient, type Ack, type SseStream } from './http';
import { memoryAfterGc } from './inspector';
import { benchRecord, type Figure } from '../report/figures';

const env = (name: string, def: number) => Number(process.env[name] ?? def);
const STREAMS = env('BENCH_STREAMS', 1000);
const FANOUT_ROUNDS = env('BENCH_FANOUT_ROUNDS', 5);
const RUNS = env('BENCH_RUNS', 3);
const RATE = env('BENCH_RATE', 100);
const LAT_UPDATES = env('BENCH_LATENCY_UPDATES', 500);
const INGEST_UPDATES = env('BENCH_INGEST_UPDATES', 100_000);
const BIN = join(__dirname, '..', '..', 'bin', 'solvermesh');

const config = loadConfig(process.env);
const brokers = config.kafkaBrokers;
const codec = new EventCodec(config.schemaRegistryUrl);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (x: number, d = 0) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const say = (s: string) => process.stderr.write(`${s}\n`);

/** A deterministic stream of small b deltas: index in [0, n), value in [-0.1, 0.1]. */
function deltas(n: number, seed: number): () => { index: number; value: number } {
  let state = seed >>> 0;
  const rnd = () => { state = (Math.imul(state, 1664525) + 1013904223) >>> 0; return state / 4294967296; };
  return () => ({ index: Math.floor(rnd() * n), value: Math.round((rnd() - 0.5) * 2000) / 10000 });
}

/** The stream metric of the gateway (open streams, all kinds). */
const openStreams = async (api: GatewayClient) => counter(await api.metrics(), 'solvermesh_gateway_streams_open');

async function waitFor(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await ok())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

interface FanoutFigures { readonly openMs: number; readonly rounds: LatencyFigures[]; readonly toProduced: number[]; readonly rssPerStream: number; readonly heapPerStream: number; readonly externalPerStream: number; readonly base: NodeJS.MemoryUsage; readonly held: NodeJS.MemoryUsage }

/** a. STREAMS streams of one session; every round a cost update and the time until each stream shows it. */
async function fanout(api: GatewayClient, gatewayLog: () => string, sessionId: string, next: () => { index: number; value: number }): Promise<FanoutFigures> {
  // A few streams opened and closed first: the routes' code is compiled before the baseline.
  for (let k = 0; k < 20; k++) (await api.stream(sessionId, () => undefined)).close();
  await waitFor('the warm-up streams to close', 10_000, async () => (await openStreams(api)) === 0);
  const base = await memoryAfterGc(gatewayLog());
  const coverage = Array.from({ length: STREAMS }, () => new Coverage());
  // When the event each round waits for was produced (the first stream's copy of it).
  const produced = new Coverage();
  const streams: SseStream[] = [];
  const t0 = performance.now();
  const CONCURRENT = 50;
  for (let k = 0; k < STREAMS; k += CONCURRENT) {
    const batch = Array.from({ length: Math.min(CONCURRENT, STREAMS - k) }, (_, j) => {
      const cov = coverage[k + j]!;
      return api.stream(sessionId, (e) => {
        if (e.type !== 'IterationCompleted' && e.type !== 'ConvergenceReached') return;
        const through = costsThrough(e.data);
        cov.mark(e.at, through);
        if (k + j === 0) produced.mark(producedAt(e.data), through);
      });
    });
    streams.push(...(await Promise.all(batch)));
  }
  const openMs = performance.now() - t0;
  await waitFor(`the gateway to hold ${STREAMS} streams`, 30_000, async () => (await openStreams(api)) === STREAMS);
  // Every stream has replayed the session's history (its convergence) before the first round.
  await waitFor('every stream to receive the session history', 30_000, async () => streams.every((s) => s.frames > 0));
  const rounds: LatencyFigures[] = [];
  const toProduced: number[] = [];
  let held: NodeJS.MemoryUsage | undefined;
  try {
    for (let r = 0; r < FANOUT_ROUNDS; r++) {
      const d = next();
      const ack = await api.postCost(sessionId, d.index, d.value);
      const arrivals = await within(Promise.all(coverage.map((c) => c.covered(ack.offset))), 60_000, `all ${STREAMS} streams to show cost update ${ack.offset}`);
      rounds.push(figures(arrivals.map((at) => at - ack.at)));
      toProduced.push(produced.find(ack.offset)! - ack.at);
      say(`a. round ${r + 1}/${FANOUT_ROUNDS}: all ${STREAMS} streams show the update; from POST: p50 ${rounds.at(-1)!.p50.toFixed(1)} p99 ${rounds.at(-1)!.p99.toFixed(1)} max ${rounds.at(-1)!.max.toFixed(1)} ms (the solver produced it ${toProduced.at(-1)!.toFixed(0)} ms after the POST)`);
      // Open and receiving: the memory they hold.
      if (r === 0) held = await memoryAfterGc(gatewayLog());
    }
  } finally {
    for (const s of streams) s.close();
  }
  await waitFor('the streams to close', 30_000, async () => (await openStreams(api)) === 0);
  const per = (k: keyof NodeJS.MemoryUsage) => (held![k] - base[k]) / STREAMS;
  return { openMs, rounds, toProduced, rssPerStream: per('rss'), heapPerStream: per('heapUsed'), externalPerStream: per('external'), base, held: held! };
}

/** Where a covering SSE event was: when its record was produced (the record time, by the wall clock) and when it arrived. */
interface StreamMarks { readonly arrived: Coverage; readonly produced: Coverage }

/** The record time (ms since the epoch, in the event's JSON) on the bench's performance clock. */
function producedAt(data: string): number {
  const m = /"timestamp":"([^"]+)"/.exec(data);
  return m ? Date.parse(m[1]!) - performance.timeOrigin : Number.NaN;
}

interface PostFigures {
  readonly stream: LatencyFigures;
  readonly ack: LatencyFigures;
  /** POST -> the solver produced the covering event (ms resolution: record times are in ms). */
  readonly toProduced: LatencyFigures;
  /** The covering event produced -> on the SSE stream (its commit, the gateway's consumer, hub and write). */
  readonly producedToStream: LatencyFigures;
}

/** b. POSTs paced at `rate`, each one's latency to the first SSE event that covers it, and its POST->ack time. */
async function pacedPosts(api: GatewayClient, sessionId: string, marks: StreamMarks, count: number, rate: number, next: () => { index: number; value: number }): Promise<PostFigures> {
  const posts: Array<Promise<Ack>> = [];
  const t0 = performance.now();
  while (posts.length < count) {
    const due = Math.min(count, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
    while (posts.length < due) { const d = next(); posts.push(api.postCost(sessionId, d.index, d.value)); }
    await sleep(1);
  }
  const acks = await Promise.all(posts);
  const last = Math.max(...acks.map((a) => a.offset));
  await within(marks.arrived.covered(last), 60_000, `an SSE event covering offset ${last}`);
  const arrived = acks.map((a) => marks.arrived.find(a.offset)!);
  const produced = acks.map((a) => marks.produced.find(a.offset)!);
  return {
    stream: figures(acks.map((a, k) => arrived[k]! - a.at)), ack: figures(acks.map((a) => a.ackMs)),
    toProduced: figures(acks.map((a, k) => produced[k]! - a.at)), producedToStream: figures(arrived.map((at, k) => at - produced[k]!)),
  };
}

/** The same updates for the relay and the raw round trip: CostUpdated records of the session, Avro-encoded. */
async function encodedUpdates(prefix: string, sessionId: string, count: number, next: () => { index: number; value: number }): Promise<Buffer[]> {
  const topic = `${prefix}solver.costs`;
  const out: Buffer[] = [];
  for (let k = 0; k < count; k++) {
    const d = next();
    out.push(await codec.encode(topic, costUpdated(sessionId, `bench-${randomBytes(6).toString('hex')}`, { indices: [d.index], values: [d.value], flush: true, source: 'bench', occurredAt: Date.now() * 1000 })));
  }
  return out;
}

interface Latency { raw: LatencyFigures[]; relay: LatencyFigures[]; stream: LatencyFigures[]; ack: LatencyFigures[]; toProduced: LatencyFigures[]; producedToStream: LatencyFigures[]; gatewayCpu: number[]; relayCpu: number[] }

async function latency(api: GatewayClient, producer: BenchProducer, ends: BaselineEnds, prefix: string, sessionId: string, n: number, cpu: { gateway: () => number; relay: () => number }): Promise<Latency> {
  const marks: StreamMarks = { arrived: new Coverage(), produced: new Coverage() };
  const sse = await api.stream(sessionId, (e) => {
    if (e.type !== 'IterationCompleted' && e.type !== 'ConvergenceReached') return;
    const through = costsThrough(e.data);
    marks.arrived.mark(e.at, through);
    marks.produced.mark(producedAt(e.data), through);
  });
  const next = deltas(n, 11);
  const plainPath: Path = { topic: `${prefix}${PLAIN}`, key: sessionId, coverage: ends.plain };
  const relayPath: Path = { topic: `${prefix}${PLAIN}`, key: sessionId, coverage: ends.relayed };
  const out: Latency = { raw: [], relay: [], stream: [], ack: [], toProduced: [], producedToStream: [], gatewayCpu: [], relayCpu: [] };
  try {
    // Warm-up: connections, JIT, the session's first re-solves.
    await pacedLatency(producer, plainPath, await encodedUpdates(prefix, sessionId, 100, next), RATE);
    await pacedLatency(producer, relayPath, await encodedUpdates(prefix, sessionId, 100, next), RATE);
    await pacedPosts(api, sessionId, marks, 100, RATE, next);
    for (let r = 0; r < RUNS; r++) {
      const values = await encodedUpdates(prefix, sessionId, LAT_UPDATES, next);
      out.raw.push(await pacedLatency(producer, plainPath, values, RATE));
      const r0 = cpu.relay();
      out.relay.push(await pacedLatency(producer, relayPath, values, RATE));
      out.relayCpu.push(((cpu.relay() - r0) * 1000) / LAT_UPDATES);
      const g0 = cpu.gateway();
      const g = await pacedPosts(api, sessionId, marks, LAT_UPDATES, RATE, next);
      // The POSTs, and the events they cause folded and streamed: what the gateway spends per update.
      out.gatewayCpu.push(((cpu.gateway() - g0) * 1000) / LAT_UPDATES);
      out.stream.push(g.stream);
      out.ack.push(g.ack);
      out.toProduced.push(g.toProduced);
      out.producedToStream.push(g.producedToStream);
      const p = (x: LatencyFigures) => `p50 ${x.p50.toFixed(2)} p99 ${x.p99.toFixed(2)}`;
      say(`b. run ${r + 1}/${RUNS}: raw ${p(out.raw.at(-1)!)} ms, relay ${p(out.relay.at(-1)!)} ms, POST->SSE ${p(g.stream)} ms (POST->ack ${p(g.ack)} ms), gateway cpu ${fmt(out.gatewayCpu.at(-1)!)} µs/update, relay cpu ${fmt(out.relayCpu.at(-1)!)} µs/update`);
    }
  } finally {
    sse.close();
  }
  return out;
}

/** `solvermesh produce cost --stdin` with `lines` on its stdin: updates per second by its own clock (connect, send, acks), and by the wall clock from spawn to exit. */
async function cliIngest(prefix: string, sessionId: string, body: Buffer): Promise<{ rate: number; wallRate: number }> {
  const t0 = performance.now();
  const proc = spawn(BIN, ['produce', 'cost', '--session', sessionId, '--stdin', '--source', 'bench'], { env: { ...process.env, TOPIC_PREFIX: prefix }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdin.end(body);
  const code = await new Promise<number | null>((resolve) => proc.on('close', resolve));
  const wallMs = performance.now() - t0;
  if (code !== 0) throw new Error(`solvermesh produce cost exited ${code}: ${stderr.slice(-1000)}`);
  const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as { updates: number; seconds: number };
  if (r.updates !== INGEST_UPDATES) throw new Error(`solvermesh produce cost sent ${r.updates} updates, not ${INGEST_UPDATES}`);
  return { rate: r.updates / r.seconds, wallRate: (r.updates * 1000) / wallMs };
}

/** c. The same number of updates through the CLI and through one NDJSON body, alternately. */
async function ingest(api: GatewayClient, prefix: string, sessionId: string, n: number, gatewayCpu: () => number): Promise<{ cli: number[]; cliWall: number[]; http: number[]; cpu: number[] }> {
  const next = deltas(n, 23);
  const updates = Array.from({ length: INGEST_UPDATES }, next);
  const cliBody = Buffer.from(updates.map((d) => `{"delta_indices":[${d.index}],"delta_values":[${d.value}]}\n`).join(''));
  const httpText = updates.map((d) => `{"session_id":"${sessionId}","delta_costs":{"indices":[${d.index}],"values":[${d.value}]},"source_node":"bench"}\n`).join('');
  // 64 KiB writes, cut at line ends, as a client streaming a file would send them.
  const chunks: Buffer[] = [];
  for (let at = 0; at < httpText.length;) {
    let end = Math.min(httpText.length, at + 65_536);
    if (end < httpText.length) end = httpText.lastIndexOf('\n', end) + 1;
    chunks.push(Buffer.from(httpText.slice(at, end)));
    at = end;
  }
  const out = { cli: [] as number[], cliWall: [] as number[], http: [] as number[], cpu: [] as number[] };
  for (let r = 0; r < RUNS; r++) {
    const c = await cliIngest(prefix, sessionId, cliBody);
    out.cli.push(c.rate);
    out.cliWall.push(c.wallRate);
    const c0 = gatewayCpu();
    const h = await api.ingest(chunks);
    out.cpu.push(((gatewayCpu() - c0) * 1000) / INGEST_UPDATES);
    if (h.errors.length > 0 || h.acks !== INGEST_UPDATES) throw new Error(`NDJSON ingest: ${h.acks} acks of ${INGEST_UPDATES}; ${h.errors.slice(0, 3).join(' | ')}`);
    out.http.push((h.acks * 1000) / h.ms);
    say(`c. run ${r + 1}/${RUNS}: CLI ${fmt(c.rate)}/s (${fmt(c.wallRate)}/s from spawn to exit), HTTP NDJSON ${fmt(out.http.at(-1)!)}/s (gateway cpu ${fmt(out.cpu.at(-1)!, 1)} µs/update)`);
  }
  return out;
}

async function main(): Promise<void> {
  const prefix = `bench-gateway-${Date.now().toString(36)}${randomBytes(2).toString('hex')}.`;
  const record = benchRecord('gateway', RUNS);
  const load0 = loadavg();
  await freshTopics(brokers, prefix, FOLDED_TOPICS);
  const token = randomBytes(16).toString('hex');
  const gateway = startServiceProcess('gateway', prefix, {
    GATEWAY_PORT: '0', GATEWAY_TOKENS: `bench ${hashToken(token)} read,costs,open`,
    // The bench is one client on one IP: the limits would refuse its 1,000 streams.
    GATEWAY_RATE_IP_MAX: '2000000000', GATEWAY_RATE_TOKEN_MAX: '2000000000', GATEWAY_DRAIN_MS: '1000',
    // The inspector is how the bench asks for a full GC before reading the memory (inspector.ts).
    NODE_OPTIONS: `--inspect=127.0.0.1:0 ${process.env.BENCH_GATEWAY_NODE_ARGS ?? ''}`.trim(),
  });
  const solver = startSolverProcess(prefix);
  const relay = startRelayProcess(prefix);
  const producers: BenchProducer[] = [];
  let ends: BaselineEnds | undefined;
  let api: GatewayClient | undefined;
  let failed = true;
  try {
    api = new GatewayClient(new URL(`http://127.0.0.1:${await gateway.port()}`), token);
    const producer = await benchProducer(brokers, { lingerMs: 0 });
    producers.push(producer);
    ends = await readBaselines(brokers, codec, prefix);
    await solver.port();
    await relay.port();
    const t = performance.now();
    const fan = poisson2d(10), small = poisson2d(32);
    const fanId = await api.solve(fan, smoothRhs(fan.n));
    const smallId = await api.solve(small, smoothRhs(small.n));
    say(`sessions of ${fan.n} and ${small.n} unknowns opened through POST /solve-stream and converged in ${fmt(performance.now() - t)} ms`);

    const a = await fanout(api, gateway.log, fanId, deltas(fan.n, 5));
    const b = await latency(api, producer, ends, prefix, smallId, small.n, { gateway: () => gateway.cpuMs(), relay: () => relay.cpuMs() });
    // Ingest alone: the solver would re-solve every update, on the same two cores.
    await solver.stop();
    await relay.stop();
    const c = await ingest(api, prefix, smallId, small.n, () => gateway.cpuMs());
    const load1 = loadavg();

    const out = (s: string) => process.stdout.write(`${s}\n`);
    const ratio = (x: number, y: number) => `${(x / y).toFixed(2)}x`;
    const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
    const kb = (bytes: number) => `${fmt(bytes / 1024, 1)} KB`;
    const mb = (bytes: number) => `${fmt(bytes / 1048576, 1)} MB`;
    out(`bench-gateway: load average ${load0.map((x) => x.toFixed(2)).join(' ')} before, ${load1.map((x) => x.toFixed(2)).join(' ')} after`);
    out(`a. ${fmt(STREAMS)} SSE streams of one session on one gateway instance (opened in ${fmt(a.openMs)} ms, 50 at a time)`);
    out(`   gateway memory after a full GC   rss ${mb(a.base.rss)} -> ${mb(a.held.rss)}   heap ${mb(a.base.heapUsed)} -> ${mb(a.held.heapUsed)}   external ${mb(a.base.external)} -> ${mb(a.held.external)}`);
    out(`   per stream                       rss ${kb(a.rssPerStream)}   heap ${kb(a.heapPerStream)}   external ${kb(a.externalPerStream)}   target >= 1,000 streams at < 100 KB each: ${verdict(STREAMS >= 1000 && a.rssPerStream < 100 * 1024 && a.heapPerStream + a.externalPerStream < 100 * 1024)}`);
    const fr = (k: 'p50' | 'p99' | 'max') => median(a.rounds.map((x) => x[k]));
    out(`   POST -> event on every stream    p50 ${fr('p50').toFixed(1)} ms   p99 ${fr('p99').toFixed(1)} ms   max ${fr('max').toFixed(1)} ms   (medians of ${a.rounds.length} rounds; all ${fmt(STREAMS)} streams received every round)`);
    out(`     of which POST -> produced      ${median(a.toProduced).toFixed(0)} ms (record time, ms resolution)   runs ${a.toProduced.map((x) => x.toFixed(0)).join(', ')}`);
    const p = (xs: LatencyFigures[], k: 'p50' | 'p99') => median(xs.map((x) => x[k]));
    const row = (name: string, xs: LatencyFigures[]) => out(`   ${name.padEnd(30)} p50 ${p(xs, 'p50').toFixed(2).padStart(7)} ms   p99 ${p(xs, 'p99').toFixed(2).padStart(7)} ms   runs p50/p99 ${xs.map((x) => `${x.p50.toFixed(2)}/${x.p99.toFixed(2)}`).join(', ')}`);
    out(`b. ${fmt(LAT_UPDATES)} cost updates at ${fmt(RATE)}/s on a ${fmt(small.n)}-unknown session, ${RUNS} runs, medians`);
    row('raw round trip', b.raw);
    row('transactional relay', b.relay);
    row('POST /swarm/costs -> SSE event', b.stream);
    row('  of which POST -> produced', b.toProduced);
    row('  and produced -> on the SSE', b.producedToStream);
    row('POST /swarm/costs -> ack', b.ack);
    out(`   cpu per update                 gateway ${fmt(median(b.gatewayCpu))} µs (runs ${b.gatewayCpu.map((x) => fmt(x)).join(', ')}), relay ${fmt(median(b.relayCpu))} µs (runs ${b.relayCpu.map((x) => fmt(x)).join(', ')})`);
    const sp50 = p(b.stream, 'p50'), rp50 = p(b.relay, 'p50');
    out(`   stream/relay p50 ${ratio(sp50, rp50)} (+${(sp50 - rp50).toFixed(2)} ms)   stream/raw p50 ${ratio(sp50, p(b.raw, 'p50'))}   target p50 <= relay p50 + 5 ms: ${verdict(sp50 <= rp50 + 5)}`);
    out(`c. ${fmt(INGEST_UPDATES)} cost updates (b deltas) per run, ${RUNS} runs, medians; solver and relay stopped`);
    out(`   CLI produce cost --stdin         ${fmt(median(c.cli)).padStart(9)}/s   runs ${c.cli.map((x) => fmt(x)).join(', ')}   (spawn to exit: ${fmt(median(c.cliWall))}/s)`);
    out(`   HTTP NDJSON body                 ${fmt(median(c.http)).padStart(9)}/s   runs ${c.http.map((x) => fmt(x)).join(', ')}   HTTP/CLI ${ratio(median(c.http), median(c.cli))}   target >= 0.50x: ${verdict(median(c.http) >= 0.5 * median(c.cli))}`);
    out(`   gateway cpu per NDJSON update    ${fmt(median(c.cpu), 1)} µs   runs ${c.cpu.map((x) => fmt(x, 1)).join(', ')}   (one core sustains ~${fmt(1e6 / median(c.cpu))} updates/s)`);
    const figures: Figure[] = [
      { section: `a. ${fmt(STREAMS)} SSE streams`, name: 'rss per stream', value: a.rssPerStream / 1024, unit: 'KiB', better: 'lower', target: '< 100 KiB', met: a.rssPerStream < 100 * 1024 },
      { section: `a. ${fmt(STREAMS)} SSE streams`, name: 'POST -> event on every stream p50', value: fr('p50'), unit: 'ms', better: 'lower' },
      ...(['p50', 'p99'] as const).map((k): Figure => ({ section: `b. ${fmt(LAT_UPDATES)} cost updates at ${fmt(RATE)}/s`, name: `POST /swarm/costs -> SSE event ${k}`, value: p(b.stream, k), unit: 'ms', better: 'lower', runs: b.stream.map((x) => x[k]), baseline: { name: `transactional relay ${k}`, value: p(b.relay, k) }, ...(k === 'p50' ? { target: '<= relay + 5 ms', met: sp50 <= rp50 + 5 } : {}) })),
      { section: `c. ${fmt(INGEST_UPDATES)} cost updates ingested`, name: 'HTTP NDJSON body updates/s', value: median(c.http), unit: '/s', better: 'higher', runs: c.http, baseline: { name: 'CLI produce cost --stdin', value: median(c.cli) }, target: '>= 0.50x', met: median(c.http) >= 0.5 * median(c.cli) },
    ];
    record.done(figures);
    failed = false;
  } finally {
    api?.close();
    await gateway.stop();
    await solver.stop();
    await relay.stop();
    if (process.env.BENCH_KEEP_LOG) writeFileSync(process.env.BENCH_KEEP_LOG, gateway.log());
    if (failed) say(`--- gateway log (tail) ---\n${gateway.log().slice(-6000)}\n--- solver log (tail) ---\n${solver.log().slice(-3000)}`);
    for (const c of ends?.consumers ?? []) await c.close();
    for (const pr of producers) await pr.close();
    await deletePrefixedTopics(brokers, prefix);
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`bench-gateway: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
