// make bench-solver-service: the solver service (`solvermesh run solver`, one process) against
// the raw broker, both measured in the same run with the same node-rdkafka clients:
//   a. cost updates applied per second on a 1e5-unknown session (2D Poisson 316x316): a burst
//      of BENCH_UPDATES CostUpdated (b deltas, 1 in 100 a diagonal edit), from the first send
//      to the arrival of the IterationCompleted whose applied_through covers the last; beside
//      the same records sent to a plain topic and read back (raw produce->consume throughput);
//   b. latency from sending a cost update to the arrival of the first IterationCompleted
//      covering it, paced at BENCH_RATE/s on a 1e4 session (100x100), p50 and p99, for each
//      group size in BENCH_LATENCY_GROUPS (the producer flushes every g-th update; 1 = every
//      update is its own re-solve); beside the round trip of the same records through a plain
//      topic, and through a transactional relay (relay.ts: the solver's runtime and tuning, one
//      transaction per batch, no solving), the floor under exactly-once output. The service's
//      CPU per update says whether it could keep up at all.
// Medians of BENCH_RUNS runs, ratios against the baseline, load average before and after.
//   BENCH_RUNS (3)  BENCH_UPDATES (200000)  BENCH_FLUSH_EVERY (0: only the last of a burst flushes;
//   groups then close at the service's SOLVER_COALESCE_MAX)  BENCH_RATE (1000)
//   BENCH_LATENCY_UPDATES (5000)  BENCH_LATENCY_GROUPS (10,1)  BENCH_METHOD (HYBRID)
//   BENCH_LINGER_MS (burst 5, paced 0)  BENCH_RDKAFKA (k=v,... more client properties, both ends)
//   BENCH_KEEP_LOG (file for the service's log)  BENCH_SERVICE_NODE_ARGS (e.g. --cpu-prof)
//   BENCH_PARTS (a,b: which parts run)
// The service's own knobs (SOLVER_*) pass through the environment to it unchanged.
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { SolverMethod } from '../../schemas/generated/events';
import { EventCodec } from '../../services/runtime/codec';
import { loadConfig } from '../../services/runtime/config';
import { SOLVER_PARTITIONS } from '../../topics/catalog';
import { poisson2d, smoothRhs } from '../../wasm/src/problems';
import { benchConsumer, benchProducer, partitionOf, type BenchConsumer, type BenchProducer } from './clients';
import { CostSource } from './costs';
import { burst, Coverage, median, within, pacedLatency, type LatencyFigures, type Path } from './measure';
import { counter, freshTopics, openConverged, PLAIN, readBaselines, startRelayProcess, startSolverProcess } from './service';
import { deletePrefixedTopics } from '../../topics/apply';
import { benchRecord, type Figure } from '../report/figures';

const env = (name: string, def: number) => Number(process.env[name] ?? def);
const RUNS = env('BENCH_RUNS', 3);
const UPDATES = env('BENCH_UPDATES', 200_000);
const FLUSH_EVERY = env('BENCH_FLUSH_EVERY', 0);
const RATE = env('BENCH_RATE', 1000);
const LAT_UPDATES = env('BENCH_LATENCY_UPDATES', 5000);
const GROUPS = (process.env.BENCH_LATENCY_GROUPS ?? '10,1').split(',').map(Number);
const METHOD = (process.env.BENCH_METHOD ?? 'HYBRID') as SolverMethod;
/** Which parts run (a: throughput, b: latency); one alone for a quick look. */
const PARTS = new Set((process.env.BENCH_PARTS ?? 'a,b').split(','));

const config = loadConfig(process.env);
const brokers = config.kafkaBrokers;
const codec = new EventCodec(config.schemaRegistryUrl);

interface Ends {
  readonly consumers: readonly BenchConsumer[];
  readonly service: Map<string, Coverage>;
  readonly converged: Map<string, Coverage>;
  readonly plain: (partition: number) => Coverage;
  readonly relayed: (partition: number) => Coverage;
}

/** Marks from solver.iterations (per session), and from the two baselines. */
async function readEnds(prefix: string, sessions: string[]): Promise<Ends> {
  const service = new Map(sessions.map((s) => [s, new Coverage()]));
  const converged = new Map(sessions.map((s) => [s, new Coverage()]));
  // Decoding is async; marks must stay in arrival order, so decode in a chain.
  let chain = Promise.resolve();
  const its = await benchConsumer(brokers, `${prefix}solver.iterations`, SOLVER_PARTITIONS, (rec) => {
    chain = chain.then(async () => {
      const { event: e } = await codec.decode(rec.value);
      if (e.type !== 'IterationCompleted' && e.type !== 'ConvergenceReached') return;
      const through = e.applied_through.find((p) => p.topic === 'solver.costs')?.offset ?? -1;
      if (e.type === 'IterationCompleted') service.get(e.session_id)?.mark(rec.at, through);
      if (e.type === 'ConvergenceReached') converged.get(e.session_id)?.mark(rec.at, through);
    });
  });
  const baselines = await readBaselines(brokers, codec, prefix);
  return { consumers: [its, ...baselines.consumers], service, converged, plain: baselines.plain, relayed: baselines.relayed };
}

const fmt = (x: number, d = 0) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

async function main(): Promise<void> {
  const prefix = `bench-solver-svc-${Date.now().toString(36)}${randomBytes(2).toString('hex')}.`;
  const load0 = loadavg();
  const record = benchRecord('solver-service', RUNS);
  await freshTopics(brokers, prefix);
  const solver = startSolverProcess(prefix);
  const relay = startRelayProcess(prefix);
  let ends: Ends | undefined;
  const producers: BenchProducer[] = [];
  let failed = true;
  try {
    const burstProducer = await benchProducer(brokers, { lingerMs: env('BENCH_LINGER_MS', 5) });
    const pacedProducer = await benchProducer(brokers, { lingerMs: env('BENCH_LINGER_MS', 0) });
    producers.push(burstProducer, pacedProducer);
    const big = { id: randomUUID(), a: poisson2d(316) };
    // Apart, so the small session's partition never snapshots the big one (10 MB) mid-measure.
    let smallId = randomUUID();
    while (partitionOf(smallId, SOLVER_PARTITIONS) === partitionOf(big.id, SOLVER_PARTITIONS)) smallId = randomUUID();
    const small = { id: smallId, a: poisson2d(100) };
    ends = await readEnds(prefix, [big.id, small.id]);
    const t = performance.now();
    await openConverged(brokers, codec, burstProducer, prefix, big.id, big.a, smoothRhs(big.a.n), { method: METHOD, producer: 'bench', occurredAt: Date.now() * 1000 });
    await openConverged(brokers, codec, pacedProducer, prefix, small.id, small.a, smoothRhs(small.a.n), { method: METHOD, producer: 'bench', occurredAt: Date.now() * 1000 });
    process.stderr.write(`sessions of ${big.a.n} and ${small.a.n} unknowns open and converged in ${fmt(performance.now() - t)} ms (${METHOD})\n`);
    const costs = `${prefix}solver.costs`;
    const bigSource = new CostSource(codec, big.id, big.a), smallSource = new CostSource(codec, small.id, small.a);
    const bigPath: Path = { topic: costs, key: big.id, coverage: () => ends!.service.get(big.id)! };
    const smallPath: Path = { topic: costs, key: small.id, coverage: () => ends!.service.get(small.id)! };
    const plainPath = (key: string): Path => ({ topic: `${prefix}${PLAIN}`, key, coverage: ends!.plain });
    const relayPath = (key: string): Path => ({ topic: `${prefix}${PLAIN}`, key, coverage: ends!.relayed });

    // Warm-up: clients connected, the small session's first re-solves, JIT.
    await pacedLatency(pacedProducer, smallPath, await smallSource.stamped(costs, 300, 1), RATE);
    await pacedLatency(pacedProducer, plainPath(small.id), await smallSource.stamped(costs, 300, 1), RATE);
    await relay.port();
    await pacedLatency(pacedProducer, relayPath(small.id), await smallSource.stamped(costs, 300, 1), RATE);

    const thr = { raw: [] as number[], service: [] as number[] };
    const lat = new Map(GROUPS.map((g) => [g, { raw: [] as LatencyFigures[], relay: [] as LatencyFigures[], service: [] as LatencyFigures[], cpu: [] as number[] }]));
    // Service CPU per update: steadier than rates on a shared machine, it pays only for this process.
    const cpu = { thr: [] as number[] };
    for (let r = 0; r < RUNS; r++) {
      if (PARTS.has('a')) {
      const values = await bigSource.encoded(costs, UPDATES, FLUSH_EVERY);
      thr.raw.push((UPDATES * 1000) / (await burst(burstProducer, plainPath(big.id), values)).ms);
      const m0 = await solver.metrics();
      const c0 = solver.cpuMs();
      const b = await burst(burstProducer, bigPath, values);
      cpu.thr.push(((solver.cpuMs() - c0) * 1000) / UPDATES);
      thr.service.push((UPDATES * 1000) / b.ms);
      // The re-solve after the burst finishes before anything else is measured.
      await within(ends.converged.get(big.id)!.covered(b.lastOffset), 120_000, 'the re-solve after the burst');
      const m1 = await solver.metrics();
      const txns = counter(m1, 'solvermesh_transactions_total') - counter(m0, 'solvermesh_transactions_total');
      process.stderr.write(`run ${r + 1}/${RUNS} a: raw ${fmt(thr.raw.at(-1)!)}/s, service ${fmt(thr.service.at(-1)!)}/s (${fmt(txns)} transactions, ${fmt(UPDATES / Math.max(1, txns))} records each), service cpu ${fmt(cpu.thr.at(-1)!, 1)} µs/update\n`);
      }

      for (const [group, l] of PARTS.has('b') ? lat : []) {
        // The same updates down each path, each dated when it is sent.
        const paced = await smallSource.stamped(costs, LAT_UPDATES, group);
        l.raw.push(await pacedLatency(pacedProducer, plainPath(small.id), paced, RATE));
        l.relay.push(await pacedLatency(pacedProducer, relayPath(small.id), paced, RATE));
        const c1 = solver.cpuMs();
        const m2 = await solver.metrics();
        const ls0 = await pacedLatency(pacedProducer, smallPath, paced, RATE);
        l.service.push(ls0);
        l.cpu.push(((solver.cpuMs() - c1) * 1000) / LAT_UPDATES);
        // Where an update's time can go besides solving: transactions, and records the solver
        // read on solver.costs beyond the updates (its own ticks and command copies).
        const m3 = await solver.metrics();
        const delta = (name: string, label?: string) => counter(m3, name, label) - counter(m2, name, label);
        const txns = delta('solvermesh_transactions_total'), costsIn = delta('solvermesh_records_in_total', 'topic="solver.costs"');
        const lr = l.raw.at(-1)!, lt = l.relay.at(-1)!, ls = l.service.at(-1)!;
        const split = (f?: LatencyFigures) => (f ? `${f.count} p50 ${f.p50.toFixed(2)} p99 ${f.p99.toFixed(2)} max ${f.max.toFixed(1)} ms` : 'none');
        process.stderr.write(`run ${r + 1}/${RUNS} b (group ${group}): service updates whose group closed at their own or a later update's flush: ${split(ls0.closedBy?.own)}; at the solver's tick: ${split(ls0.closedBy?.tick)}\n`);
        process.stderr.write(`run ${r + 1}/${RUNS} b (group ${group}): raw p50 ${lr.p50.toFixed(2)} p99 ${lr.p99.toFixed(2)} ms, relay p50 ${lt.p50.toFixed(2)} p99 ${lt.p99.toFixed(2)} ms, service p50 ${ls.p50.toFixed(2)} p99 ${ls.p99.toFixed(2)} max ${ls.max.toFixed(1)} ms, service cpu ${fmt(l.cpu.at(-1)!)} µs/update, ${fmt(txns)} transactions, ${fmt(costsIn - LAT_UPDATES)} solver.costs records besides the updates\n`);
      }
    }
    const load1 = loadavg();
    const out = (s: string) => process.stdout.write(`${s}\n`);
    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
    out(`bench-solver-service: ${RUNS} runs, medians; method ${METHOD}; load average ${load0.map((x) => x.toFixed(2)).join(' ')} before, ${load1.map((x) => x.toFixed(2)).join(' ')} after`);
    if (PARTS.has('a')) {
    out(`a. ${fmt(UPDATES)} cost updates on a ${fmt(big.a.n)}-unknown session (1 in 100 a matrix edit, ${FLUSH_EVERY ? `flush every ${FLUSH_EVERY}` : 'one burst'})`);
    out(`   raw produce->consume   ${fmt(median(thr.raw)).padStart(9)}/s   runs ${thr.raw.map((x) => fmt(x)).join(', ')}`);
    out(`   service applied        ${fmt(median(thr.service)).padStart(9)}/s   runs ${thr.service.map((x) => fmt(x)).join(', ')}   service/raw ${ratio(median(thr.service), median(thr.raw))}   target >= 50,000/s: ${median(thr.service) >= 50_000 ? 'met' : 'MISSED'}`);
    out(`   service cpu per update ${fmt(median(cpu.thr), 1).padStart(9)} µs  runs ${cpu.thr.map((x) => fmt(x, 1)).join(', ')}`);
    }
    const p = (xs: LatencyFigures[], k: 'p50' | 'p99' | 'max') => median(xs.map((x) => x[k]));
    for (const [group, l] of PARTS.has('b') ? lat : []) {
      out(`b. ${fmt(LAT_UPDATES)} updates at ${fmt(RATE)}/s on a ${fmt(small.a.n)}-unknown session, ${group === 1 ? 'each its own group (flush on every update)' : `a group (flush) every ${group} updates`}`);
      out(`   raw round trip         p50 ${p(l.raw, 'p50').toFixed(2).padStart(8)} ms   p99 ${p(l.raw, 'p99').toFixed(2).padStart(8)} ms   runs p50/p99 ${l.raw.map((x) => `${x.p50.toFixed(2)}/${x.p99.toFixed(2)}`).join(', ')}`);
      out(`   transactional relay    p50 ${p(l.relay, 'p50').toFixed(2).padStart(8)} ms   p99 ${p(l.relay, 'p99').toFixed(2).padStart(8)} ms   runs p50/p99 ${l.relay.map((x) => `${x.p50.toFixed(2)}/${x.p99.toFixed(2)}`).join(', ')}`);
      out(`   update->iteration      p50 ${p(l.service, 'p50').toFixed(2).padStart(8)} ms   p99 ${p(l.service, 'p99').toFixed(2).padStart(8)} ms   runs p50/p99 ${l.service.map((x) => `${x.p50.toFixed(2)}/${x.p99.toFixed(2)}`).join(', ')}`);
      out(`   service/relay          p50 ${ratio(p(l.service, 'p50'), p(l.relay, 'p50'))}   p99 ${ratio(p(l.service, 'p99'), p(l.relay, 'p99'))}`);
      out(`   service/raw            p50 ${ratio(p(l.service, 'p50'), p(l.raw, 'p50'))}   p99 ${ratio(p(l.service, 'p99'), p(l.raw, 'p99'))}   targets p50 <= 5 ms: ${p(l.service, 'p50') <= 5 ? 'met' : 'MISSED'}, p99 <= 20 ms: ${p(l.service, 'p99') <= 20 ? 'met' : 'MISSED'}`);
      // Issue 21: near the exactly-once floor, in absolute distance from the relay of the same run.
      const [dp50, dp99] = [p(l.service, 'p50') - p(l.relay, 'p50'), p(l.service, 'p99') - p(l.relay, 'p99')];
      // With groups of g, an update also waits for its group's flush (the producer's choice): ~(g-1)/2 updates' time at p50.
      const verdicts = group === 1 ? `targets p50 <= relay + 3 ms: ${dp50 <= 3 ? 'met' : 'MISSED'}, p99 <= relay + 10 ms: ${dp99 <= 10 ? 'met' : 'MISSED'}` : `(an update waits for its group's flush: ~${fmt(((group - 1) / 2) * (1000 / RATE), 1)} ms at p50 by construction)`;
      out(`   service - relay        p50 ${dp50.toFixed(2).padStart(8)} ms   p99 ${dp99.toFixed(2).padStart(8)} ms   ${verdicts}`);
      // Above 1e6 µs of CPU per second of updates the service cannot keep up and latency is queueing.
      out(`   service cpu per update ${fmt(median(l.cpu)).padStart(9)} µs  runs ${l.cpu.map((x) => fmt(x)).join(', ')}  (one core sustains ~${fmt(1e6 / median(l.cpu))} updates/s)`);
    }
    const figures: Figure[] = [];
    if (PARTS.has('a')) {
      figures.push({ section: `a. ${fmt(UPDATES)} cost updates, ${fmt(big.a.n)} unknowns`, name: 'service cost updates applied', value: median(thr.service), unit: '/s', better: 'higher', runs: thr.service, baseline: { name: 'raw produce->consume', value: median(thr.raw) }, target: '>= 50,000/s', met: median(thr.service) >= 50_000 });
      figures.push({ section: `a. ${fmt(UPDATES)} cost updates, ${fmt(big.a.n)} unknowns`, name: 'service cpu per update', value: median(cpu.thr), unit: 'µs', better: 'lower', runs: cpu.thr });
    }
    const latency: Record<string, unknown> = {};
    for (const [group, l] of PARTS.has('b') ? lat : []) {
      const section = `b. latency at ${fmt(RATE)}/s, ${fmt(small.a.n)} unknowns, ${group === 1 ? 'each update its own group' : `a group every ${group} updates`}`;
      for (const k of ['p50', 'p99'] as const) {
        const target = k === 'p50' ? 3 : 10;
        const goal = group === 1 ? { target: `<= relay + ${target} ms`, met: p(l.service, k) - p(l.relay, k) <= target } : {};
        figures.push({ section, name: `update->IterationCompleted ${k}`, value: p(l.service, k), unit: 'ms', better: 'lower', runs: l.service.map((x) => x[k]), baseline: { name: `transactional relay ${k}`, value: p(l.relay, k) }, ...goal });
        figures.push({ section, name: `raw round trip ${k}`, value: p(l.raw, k), unit: 'ms', better: 'lower', runs: l.raw.map((x) => x[k]), baseline: { name: `transactional relay ${k}`, value: p(l.relay, k) } });
      }
      figures.push({ section, name: 'service cpu per update', value: median(l.cpu), unit: 'µs', better: 'lower', runs: l.cpu });
      // The run whose service p50 is the median one, with its raw and relay: one run's CDFs side by side.
      const order = l.service.map((x, i) => [x.p50, i] as const).sort((a, b) => a[0] - b[0]);
      const mid = order[(order.length - 1) >> 1]![1];
      latency[String(group)] = { label: section, raw: l.raw[mid]!.quantiles, relay: l.relay[mid]!.quantiles, service: l.service[mid]!.quantiles };
    }
    record.done(figures, { latencyQuantiles: latency });
    failed = false;
  } finally {
    await solver.stop();
    await relay.stop();
    // BENCH_KEEP_LOG=<file>: the service's whole log; on failure its tail is printed anyway.
    if (process.env.BENCH_KEEP_LOG) writeFileSync(process.env.BENCH_KEEP_LOG, solver.log());
    if (failed) process.stderr.write(`--- solver log (tail) ---\n${solver.log().slice(-6000)}\n`);
    for (const c of ends?.consumers ?? []) await c.close();
    for (const pr of producers) await pr.close();
    await deletePrefixedTopics(brokers, prefix);
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`bench-solver-service: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
