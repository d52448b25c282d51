// make bench-verifier: the verifier's cost, each figure beside a baseline measured in the same run.
//   a. 100 probes (rows) of a 1e6-unknown session (2D Poisson 1000x1000): row sampling plus the
//      WASM kernel's residuals b_i - (A x)_i, median of BENCH_PROBE_REPS verifications, against
//      seed 000 §7.1's "verification probe < 5 ms"; beside a plain-JS dot product over the same
//      CSR rows in the same reps;
//   b. probes per second of one verifier (one group's core, one thread): whole checks of
//      published 1e6 solutions at the seed's 10 probes x 100 rows (assembly, hash, x into the
//      kernel, ||b||, probes, verdict), and the kernel's probe rate alone (from a);
//   c. the solver service's cost updates applied per second on a 1e5-unknown session, without
//      verifiers and with three verifier groups (`solvermesh run verifier --group g1..g3`)
//      running beside it on the same machine, in the same run; with them, how long after the
//      solver the verifiers had folded the burst too.
// Medians of BENCH_RUNS; load average before and after.
//   BENCH_RUNS (3)  BENCH_PROBE_REPS (201)  BENCH_CHECKS (15)  BENCH_UPDATES (50000)  BENCH_SIDE (1000)
import { randomBytes, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { EventCodec } from '../../services/runtime/codec';
import { loadConfig } from '../../services/runtime/config';
import { committedOffsets } from '../../services/runtime/kafka/log-reader';
import { SOLVER_PARTITIONS } from '../../topics/catalog';
import { deletePrefixedTopics } from '../../topics/apply';
import { poisson2d, smoothRhs } from '../../wasm/src/problems';
import { wasmKernel } from '../../wasm';
import { benchConsumer, benchProducer, partitionOf, type BenchConsumer, type BenchProducer } from '../solver-service/clients';
import { CostSource } from '../solver-service/costs';
import { burst, Coverage, median, within, type Path } from '../solver-service/measure';
import { freshTopics, openConverged, startServiceProcess, startSolverProcess, type ServiceProcess } from '../solver-service/service';
import { timeChecks, timeProbes } from './probes';
import { benchRecord, type Figure } from '../report/figures';

const env = (name: string, def: number) => Number(process.env[name] ?? def);
const RUNS = env('BENCH_RUNS', 3);
const REPS = env('BENCH_PROBE_REPS', 201);
const CHECKS = env('BENCH_CHECKS', 15);
const UPDATES = env('BENCH_UPDATES', 50_000);
const SIDE = env('BENCH_SIDE', 1000);
const PROBES = 100;
const TARGET_MS = 5;
const GROUPS = ['g1', 'g2', 'g3'];

const fmt = (x: number, d = 0) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const out = (s: string) => process.stdout.write(`${s}\n`);
const note = (s: string) => process.stderr.write(`${s}\n`);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
const runs = (xs: number[], d = 0) => xs.map((x) => fmt(x, d)).join(', ');
/** What the report reads (bench/out/verifier/figures.json). */
const figures: Figure[] = [];

function inProcess(): { lines: string[] } {
  const a = poisson2d(SIDE);
  const b = smoothRhs(a.n);
  // An x near the solution's scale; the probes' cost does not depend on its values.
  const x = Float64Array.from({ length: a.n }, (_, i) => 1 + Math.sin(i * 1e-3));
  const kernel = wasmKernel();
  const session = kernel(a);
  const lines: string[] = [];
  try {
    session.setB(b);
    session.setX(x);
    timeProbes(session, a, b, x, PROBES, 21); // warm-up: JIT, caches
    const t = timeProbes(session, a, b, x, PROBES, REPS);
    const probeMs = t.sampleMs.map((s, i) => s + t.kernelMs[i]!);
    const p = median(probeMs), k = median(t.kernelMs), j = median(t.jsMs), s = median(t.sampleMs);
    lines.push(`a. ${PROBES} probes (rows) of a ${fmt(a.n)}-unknown session (${fmt(a.values.length)} non-zeros), median of ${REPS} verifications`);
    lines.push(`   sample + kernel residuals ${p.toFixed(4).padStart(9)} ms   target < ${TARGET_MS} ms: ${p < TARGET_MS ? 'met' : 'MISSED'}`);
    lines.push(`   of which row sampling     ${s.toFixed(4).padStart(9)} ms`);
    lines.push(`   kernel residuals          ${k.toFixed(4).padStart(9)} ms   (p90 ${quantile(t.kernelMs, 0.9).toFixed(4)} ms)`);
    lines.push(`   plain-JS dot products     ${j.toFixed(4).padStart(9)} ms   (p90 ${quantile(t.jsMs, 0.9).toFixed(4)} ms)   kernel/JS ${ratio(k, j)}   max relative disagreement ${t.agreement.toExponential(1)}`);
    figures.push({ section: `a. ${PROBES} probes, ${fmt(a.n)} unknowns`, name: 'kernel residuals', value: k, unit: 'ms', better: 'lower', baseline: { name: 'plain-JS dot products', value: j } });
    figures.push({ section: `a. ${PROBES} probes, ${fmt(a.n)} unknowns`, name: 'sample + kernel residuals', value: p, unit: 'ms', better: 'lower', target: `< ${TARGET_MS} ms`, met: p < TARGET_MS });
    const c = timeChecks(kernel, randomUUID(), a, b, x, CHECKS);
    const check = median(c.checkMs);
    lines.push(`b. one verifier (one group's core, one thread) on the same session`);
    lines.push(`   whole check of a published solution (${fmt(c.rows)} rows: seed 10 x 100)  ${check.toFixed(2)} ms median of ${CHECKS}   runs ${runs(c.checkMs, 1)}`);
    lines.push(`   probes per second, whole checks  ${fmt((c.rows * 1000) / check).padStart(12)}/s   (${fmt(1000 / check, 1)} checks/s; the O(n) parts dominate: assembling and hashing x, loading it, ||b||)`);
    lines.push(`   probes per second, kernel alone  ${fmt((PROBES * 1000) / k).padStart(12)}/s   plain JS ${fmt((PROBES * 1000) / j)}/s`);
    figures.push({ section: 'b. one verifier', name: 'whole check of a published solution', value: check, unit: 'ms', better: 'lower', runs: c.checkMs });
  } finally {
    session.free();
  }
  return { lines };
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((p, r) => p - r);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

/** Resolves when every verifier group has committed solver.costs up to `end` on `partition`. */
async function verifiersCaughtUp(brokers: string[], prefix: string, partition: number, end: number, verifiers: readonly ServiceProcess[], timeoutMs = 300_000): Promise<number> {
  const t0 = performance.now();
  const topic = `${prefix}solver.costs`;
  for (;;) {
    // A verifier that exited will never commit: say why at once rather than after the timeout.
    const dead = verifiers.find((v) => v.proc.exitCode !== null || v.proc.signalCode !== null);
    if (dead) throw new Error(`a verifier exited (${dead.proc.exitCode ?? dead.proc.signalCode}) before folding ${topic}[${partition}] up to ${end}: ${dead.log().slice(-3000)}`);
    const done = await Promise.all(GROUPS.map(async (g) => ((await committedOffsets(brokers, `${prefix}solvermesh.verifier.${g}`, [{ topic, partition }])).get(`${topic}/${partition}`) ?? -1) > end));
    if (done.every(Boolean)) return performance.now();
    if (performance.now() - t0 > timeoutMs) throw new Error(`verifiers did not fold ${topic}[${partition}] up to ${end} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function withService(lines: string[]): Promise<void> {
  const config = loadConfig(process.env);
  const brokers = config.kafkaBrokers;
  const codec = new EventCodec(config.schemaRegistryUrl);
  const prefix = `bench-verifier-${Date.now().toString(36)}${randomBytes(2).toString('hex')}.`;
  // The verifier reads the agents' keys (signed reports) and writes witnesses: its topics too.
  await freshTopics(brokers, prefix, ['mesh.agent-keys', 'mesh.witnesses']);
  const solver = startSolverProcess(prefix);
  const verifiers: ServiceProcess[] = [];
  let consumer: BenchConsumer | undefined;
  let producer: BenchProducer | undefined;
  let failed = true;
  try {
    producer = await benchProducer(brokers, { lingerMs: 5 });
    const big = { id: randomUUID(), a: poisson2d(316) };
    const coverage = new Coverage();
    let chain = Promise.resolve();
    consumer = await benchConsumer(brokers, `${prefix}solver.iterations`, SOLVER_PARTITIONS, (rec) => {
      chain = chain.then(async () => {
        const { event: e } = await codec.decode(rec.value);
        if (e.type === 'IterationCompleted' && e.session_id === big.id) coverage.mark(rec.at, e.applied_through.find((p) => p.topic === 'solver.costs')?.offset ?? -1);
      });
    });
    await openConverged(brokers, codec, producer, prefix, big.id, big.a, smoothRhs(big.a.n), { method: 'HYBRID', producer: 'bench', occurredAt: Date.now() * 1000 });
    const costs = `${prefix}solver.costs`;
    const source = new CostSource(codec, big.id, big.a);
    const path: Path = { topic: costs, key: big.id, coverage: () => coverage };
    // Warm-up: the first re-solves, JIT.
    await burst(producer, path, await source.encoded(costs, 2000, 0));

    const measure = async (label: string, after?: (b: { ms: number; lastOffset: number; at: number }) => Promise<void>) => {
      const values = await source.encoded(costs, UPDATES, 0);
      const t0 = performance.now();
      const b = await burst(producer!, path, values);
      const rate = (UPDATES * 1000) / b.ms;
      note(`${label}: ${fmt(rate)} updates/s`);
      await after?.({ ...b, at: t0 + b.ms });
      return rate;
    };
    const without: number[] = [];
    for (let r = 0; r < RUNS; r++) without.push(await measure(`run ${r + 1}/${RUNS} without verifiers`));

    for (const g of GROUPS) verifiers.push(startServiceProcess('verifier', prefix, { VERIFIER_GROUP: g, VERIFIER_GROUPS: String(GROUPS.length), INSTANCE_ID: `bench-${process.pid}-${g}` }));
    const partition = partitionOf(big.id, SOLVER_PARTITIONS);
    const marker = await burst(producer, path, await source.encoded(costs, 1, 0));
    // The groups have folded the whole log so far (the session and every burst) before a run.
    const t = performance.now();
    await verifiersCaughtUp(brokers, prefix, partition, marker.lastOffset, verifiers);
    note(`three verifier groups started and caught up with the log in ${fmt(performance.now() - t)} ms`);
    const withV: number[] = [];
    const lag: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      withV.push(await measure(`run ${r + 1}/${RUNS} with three verifier groups`, async (b) => {
        lag.push((await verifiersCaughtUp(brokers, prefix, partition, b.lastOffset, verifiers)) - b.at);
      }));
    }
    const load = loadavg();
    lines.push(`c. ${fmt(UPDATES)} cost updates on a ${fmt(big.a.n)}-unknown session (1 in 100 a matrix edit, one burst), solver service`);
    lines.push(`   without verifiers            ${fmt(median(without)).padStart(9)}/s   runs ${runs(without)}`);
    lines.push(`   with three verifier groups   ${fmt(median(withV)).padStart(9)}/s   runs ${runs(withV)}   with/without ${ratio(median(withV), median(without))}`);
    lines.push(`   verifiers done after solver  ${fmt(median(lag)).padStart(9)} ms  runs ${runs(lag)}   (all processes share this machine's cores; load average ${load.map((x) => x.toFixed(2)).join(' ')})`);
    figures.push({ section: `c. ${fmt(UPDATES)} cost updates, ${fmt(big.a.n)} unknowns`, name: 'solver updates/s with three verifier groups', value: median(withV), unit: '/s', better: 'higher', runs: withV, baseline: { name: 'solver updates/s without verifiers', value: median(without) } });
    figures.push({ section: `c. ${fmt(UPDATES)} cost updates, ${fmt(big.a.n)} unknowns`, name: 'verifiers done after the solver', value: median(lag), unit: 'ms', better: 'lower', runs: lag });
    failed = false;
  } finally {
    for (const v of verifiers) await v.stop();
    await solver.stop();
    if (failed) {
      note(`--- solver log (tail) ---\n${solver.log().slice(-4000)}`);
      for (const v of verifiers) note(`--- verifier log (tail) ---\n${v.log().slice(-2000)}`);
    }
    await consumer?.close();
    await producer?.close();
    await deletePrefixedTopics(brokers, prefix);
  }
}

async function main(): Promise<void> {
  const record = benchRecord('verifier', RUNS);
  const load0 = loadavg();
  const { lines } = inProcess();
  for (const l of lines) note(l);
  await withService(lines);
  const load1 = loadavg();
  out(`bench-verifier: medians; load average ${load0.map((x) => x.toFixed(2)).join(' ')} before, ${load1.map((x) => x.toFixed(2)).join(' ')} after`);
  for (const l of lines) out(l);
  record.done(figures);
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`bench-verifier: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
