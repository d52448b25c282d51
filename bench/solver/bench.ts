// make bench-solver: WASM kernels vs SciPy (cg, bicgstab) and sublinear-time-solver, same run.
// Every answer is checked here with ||b - Ax|| / ||b|| computed from the bench's own CSR.
// hybrid and the SciPy peers run interleaved, run by run (SciPy as one long-lived process, as ours is).
// Usage: tsx bench/solver/bench.ts [--sizes 1e4,1e5,1e6] [--runs 3] [--warm-runs 3] [--warm-size n] [--peer-timeout 60] [--only sizes,spmv,warm,weak,amg,unstructured (any of them)] [--problems poisson,convdiff] [--amg-problems poisson0,aniso] [--peers scipy,sublinear]
// --only amg: unshifted and anisotropic Poisson, AMG-PCG vs CG+MILU(0) vs SciPy CG; --only unstructured: the generated family, hybrid vs SciPy.
// --only spmv: just the SpMV-vs-streaming-read line for each size (Poisson), no peers needed.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SolverSession, relativeResidual, type Csr, type Method, type Preconditioner } from '../../wasm/index';
import { WasmKernel } from '../../wasm/src/wasm-kernel';
import { benchRecord } from '../report/figures';
import { solverFigures } from '../report/report';
import { anisotropicPoisson2d, convectionDiffusion2d, networkFlow, poisson2d, perturbB, powerLawLaplacian, randomDominant, smoothRhs, weaklyDominant2d } from '../../wasm/src/problems';

const TOL = 1e-8;
const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const sizes = (args.get('sizes') ?? '1e4,1e5,1e6').split(',').map(Number);
const RUNS = Number(args.get('runs') ?? 3);
// The warm re-solve's runs (default --runs): each is short, so on a loaded machine one preempted
// run moves a median of 3; more runs cost little.
const WARM_RUNS = Number(args.get('warm-runs') ?? RUNS);
// The warm re-solve's size (default the largest of --sizes): 1e6 alone, without the families at 1e6.
const WARM_SIZE = args.has('warm-size') ? Number(args.get('warm-size')) : undefined;
const PEER_TIMEOUT_S = Number(args.get('peer-timeout') ?? 60);
// --only a,b: several parts in one run, so one figures.json holds them all (default: every part).
const ONLY = args.has('only') ? new Set(args.get('only')!.split(',')) : undefined;
const only = (part: string): boolean => ONLY === undefined || ONLY.has(part);
// The parts that need the sublinear-time-solver peer (the default family, weak).
const needsSublinear = only('sizes') || only('weak');
// Filters for quick A/B runs: --problems poisson,convdiff  --peers scipy,sublinear (default all).
const PROBLEMS = (args.get('problems') ?? 'poisson,convdiff').split(',');
// --amg-problems poisson0,aniso: the AMG family's members (default both; SciPy's CG at 1e6 takes minutes a run).
const AMG_PROBLEMS = (args.get('amg-problems') ?? 'poisson0,aniso').split(',');
const PEER_SET = new Set((args.get('peers') ?? 'scipy,sublinear').split(','));
const OUT = join(__dirname, '..', 'out', 'solver');
// SOLVER_BENCH_PYTHON: another interpreter with SciPy (Debian's python3-scipy is the default).
const PY = process.env.SOLVER_BENCH_PYTHON ?? '/usr/bin/python3';
const PEERS = join(__dirname, 'peers');
mkdirSync(OUT, { recursive: true });

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]!; };
const fmt = (s: number): string => (s < 1e-3 ? `${(s * 1e6).toFixed(0)} µs` : s < 1 ? `${(s * 1000).toFixed(1)} ms` : `${s.toFixed(2)} s`);
const log = (line = ''): void => { process.stdout.write(`${line}\n`); };

// A row of results.json; `cold`: a warm re-solve's cold solve of the same runs (its baseline);
// cpu/coldCpu: the same two as this process's CPU time (what preemption on a shared machine does not inflate).
interface Row { problem: string; n: number; solver: string; seconds: number | null; iterations: number | string; residual: number | null; note: string; cold?: number; cpu?: number; coldCpu?: number }
const rows: Row[] = [];

function dump(a: Csr, b: Float64Array, dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'rowptr.i32'), Buffer.from(a.rowPtr.buffer, a.rowPtr.byteOffset, a.rowPtr.byteLength));
  writeFileSync(join(dir, 'col.i32'), Buffer.from(a.colIdx.buffer, a.colIdx.byteOffset, a.colIdx.byteLength));
  writeFileSync(join(dir, 'val.f64'), Buffer.from(a.values.buffer, a.values.byteOffset, a.values.byteLength));
  writeFileSync(join(dir, 'b.f64'), Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function readX(file: string): Float64Array {
  const buf = readFileSync(file);
  return new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

interface Once { seconds: number; iterations: number | string; residual: number; failure: string | null }

/** Ours, one run: open + load + solve, timed together (the first run is the first call in this process). */
function oursOnce(a: Csr, b: Float64Array, method: Method, precond: Preconditioner): Once {
  const t0 = performance.now();
  const s = SolverSession.open(a);
  s.setB(b);
  s.configure({ method, precond, tol: TOL, stagnationWindow: 5000 });
  const out = s.iterate(1_000_000);
  const seconds = (performance.now() - t0) / 1000;
  const x = s.readX();
  const used = s.current();
  s.free();
  const residual = relativeResidual(a, x, b);
  const ok = out.status === 'converged' && residual <= TOL;
  const ran = method === 'hybrid' ? ` (${used.method}+${used.precond})` : '';
  return { seconds, iterations: `${out.iterations}${ran}`, residual, failure: ok ? null : `FAILED: ${out.status}` };
}

/**
 * The SciPy peer as one long-lived process (scipy_peer.py serve), like ours: its first call in the
 * process counts among its runs as ours does, and later runs reuse its warmed-up allocator.
 */
class ScipyServer {
  private readonly proc = spawn(PY, [join(PEERS, 'scipy_peer.py'), 'serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  private readonly lines = createInterface({ input: this.proc.stdout! })[Symbol.asyncIterator]();

  async request(dir: string, method: ScipyMethod, repeat = 1): Promise<{ times?: number[]; iterations?: number[]; cpu?: number; error?: string }> {
    this.proc.stdin!.write(`${JSON.stringify({ dir, method, tol: TOL, maxiter: 100000, repeat })}\n`);
    const next = await this.lines.next();
    if (next.done === true) return { error: 'scipy peer exited' };
    return JSON.parse(next.value) as { times?: number[]; iterations?: number[]; cpu?: number; error?: string };
  }

  close(): void { this.proc.stdin!.end(); }
}
let scipyServer: ScipyServer | undefined;

/** SciPy, one run in the long-lived peer. */
async function scipyOnce(a: Csr, b: Float64Array, dir: string, method: ScipyMethod): Promise<Once> {
  scipyServer ??= new ScipyServer();
  const rep = await scipyServer.request(dir, method);
  if (rep.error !== undefined || rep.times === undefined) return { seconds: NaN, iterations: '-', residual: NaN, failure: `FAILED: ${rep.error ?? 'no answer'}` };
  const residual = relativeResidual(a, readX(join(dir, `x.scipy-${method}.f64`)), b);
  return { seconds: rep.times[0]!, iterations: rep.iterations?.[0] ?? '-', residual, failure: residual <= TOL ? null : `WRONG: residual ${residual.toExponential(2)} > tol` };
}

type ScipyMethod = 'cg' | 'bicgstab' | 'cg_jacobi';
interface Contender { label: string; once: () => Once | Promise<Once>; ours: boolean }

/**
 * Runs the contenders in turn, run by run (A B C, A B C, ...), so load from other processes on
 * the machine falls on all of them alike; one row each, the median of RUNS runs. Returns the
 * medians (null for a failed contender) in the order given.
 */
async function interleaved(problem: string, n: number, contenders: Contender[]): Promise<Array<number | null>> {
  const runs: Once[][] = contenders.map(() => []);
  for (let r = 0; r < RUNS; r++) for (const [j, c] of contenders.entries()) runs[j]!.push(await c.once());
  return contenders.map((c, j) => {
    const rs = runs[j]!;
    const last = rs[rs.length - 1]!;
    const failed = rs.find((x) => x.failure !== null);
    const t = failed === undefined ? median(rs.map((x) => x.seconds)) : null;
    const note = failed !== undefined ? failed.failure! : c.ours ? `first ${fmt(rs[0]!.seconds)}` : `long-lived peer, first ${fmt(rs[0]!.seconds)}`;
    rows.push({ problem, n, solver: c.label, seconds: t, iterations: last.iterations, residual: Number.isFinite(last.residual) ? last.residual : null, note });
    const res = Number.isFinite(last.residual) ? `  res=${last.residual.toExponential(2)}` : '';
    log(`  ${c.label.padEnd(26)} ${t !== null ? fmt(t).padStart(10) : (failed!.failure!.startsWith('WRONG') ? 'WRONG' : 'FAILED').padStart(10)}  it=${last.iterations}${res}  (${t !== null ? note : failed!.failure})`);
    return t;
  });
}

const oursLabel = (method: Method, precond: Preconditioner): string => `wasm ${method}${method === 'cg' || method === 'bicgstab' ? `+${precond}` : ''}`;

async function ours(problem: string, a: Csr, b: Float64Array, method: Method, precond: Preconditioner): Promise<number | null> {
  return (await interleaved(problem, a.n, [{ label: oursLabel(method, precond), once: () => oursOnce(a, b, method, precond), ours: true }]))[0]!;
}

const scipyContender = (a: Csr, b: Float64Array, dir: string, method: ScipyMethod, label = `scipy ${method}`): Contender =>
  ({ label, once: () => scipyOnce(a, b, dir, method), ours: false });

const SUBLINEAR = ['neumann', 'random-walk', 'forward-push', 'backward-push', 'bidirectional'] as const;
const sublinearDead = new Map<string, string>();

function sublinear(problem: string, a: Csr, b: Float64Array, dir: string): void {
  for (const m of SUBLINEAR) {
    const label = `sublinear ${m}`;
    const key = `${problem}:${m}`;
    const dead = sublinearDead.get(key);
    if (dead !== undefined) {
      rows.push({ problem, n: a.n, solver: label, seconds: null, iterations: '-', residual: null, note: `not run: ${dead}` });
      log(`  ${label.padEnd(26)} not run (${dead})`);
      continue;
    }
    const p = spawnSync(process.execPath, [join(PEERS, 'sublinear_peer.mjs'), dir, m, String(TOL), '100000', String(PEER_TIMEOUT_S * 1000)],
      { encoding: 'utf8', timeout: PEER_TIMEOUT_S * 1000 + 5000, cwd: PEERS, maxBuffer: 1 << 26 });
    let note: string, res: number | null = null, secs: number | null = null, iters: number | string = '-';
    const last = (p.stdout ?? '').trim().split('\n').filter((l) => l.startsWith('{')).pop() ?? '';
    if (p.error !== undefined || p.signal !== null) note = `FAILED: no answer within ${PEER_TIMEOUT_S} s`;
    else if (!last.startsWith('{')) note = `FAILED: exit ${p.status}`;
    else {
      const rep = JSON.parse(last) as { seconds: number; iterations?: number; error?: string };
      if (rep.error !== undefined) note = `FAILED: ${rep.error}`;
      else {
        res = relativeResidual(a, readX(join(dir, `x.sublinear-${m}.f64`)), b);
        iters = rep.iterations ?? '-';
        if (res <= TOL) { secs = rep.seconds; note = 'single run'; } else note = `WRONG: residual ${res.toExponential(2)}`;
      }
    }
    if (secs === null) sublinearDead.set(key, `failed at n=${a.n}`);
    rows.push({ problem, n: a.n, solver: label, seconds: secs, iterations: iters, residual: res, note });
    log(`  ${label.padEnd(26)} ${secs !== null ? fmt(secs).padStart(10) : ''} ${note}${res !== null ? ` res=${res.toExponential(2)}` : ''}`);
  }
}

function spmvFloor(a: Csr): void {
  const k = new WasmKernel(a.n, a.values.length);
  k.load(a);
  k.setX(smoothRhs(a.n));
  // Bytes one CSR SpMV must move: values + column indices + row pointers + x read + y written.
  const bytes = a.values.length * 12 + (a.n + 1) * 4 + a.n * 16;
  const reader = k.streamReader(bytes);
  const reps = Math.max(3, Math.round(2e8 / bytes));
  // The floor is the fastest way found to stream the bytes: one sequential stream, or 2-32
  // parts read side by side (one stream can fall short of the bandwidth: 10 vs 24 GB/s here).
  const SPLITS = [1, 2, 4, 8, 16, 32];
  k.spmvRepeat(1); for (const g of SPLITS) reader(1, g);
  const sp: number[] = [], st = SPLITS.map(() => [] as number[]);
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now(); k.spmvRepeat(reps); sp.push((performance.now() - t0) / reps / 1000);
    SPLITS.forEach((g, q) => { const t1 = performance.now(); reader(reps, g); st[q]!.push((performance.now() - t1) / reps / 1000); });
  }
  k.free();
  const floors = st.map(median);
  const best = floors.indexOf(Math.min(...floors));
  const s = median(sp), f = floors[best]!;
  log(`  SpMV ${fmt(s)} vs streaming read of the same ${(bytes / 1e6).toFixed(1)} MB ${fmt(f)} (${(bytes / f / 1e9).toFixed(1)} GB/s, ${SPLITS[best]} stream(s); ${SPLITS.map((g, q) => `${g}: ${fmt(floors[q]!)}`).join(', ')}): ratio ${(s / f).toFixed(2)}`);
  rows.push({ problem: 'spmv', n: a.n, solver: 'wasm spmv / stream floor', seconds: s, iterations: '-', residual: null, note: `floor ${fmt(f)} (${SPLITS[best]} streams), ratio ${(s / f).toFixed(2)}` });
}

/** `target` undefined: a size the issue sets no target at (the line still shows the ratio). */
function ratio(name: string, ourT: number | null, peerT: number | null, target: number | undefined): void {
  if (ourT === null || peerT === null) { log(`  → ${name}: n/a`); return; }
  const r = peerT / ourT;
  log(`  → ${name}: ${r.toFixed(2)}× faster${target === undefined ? '' : ` (target ≥ ${target}×: ${r >= target ? 'MET' : 'MISSED'})`}`);
}

/**
 * Warm re-solve after a cost update: a cold solve (setup included), then 0.1% of b moved and the
 * same session iterated on from its x, reusing its setup (factorisation or AMG hierarchy: A did
 * not change). One row per method, value the warm median, `cold` the cold median of the same runs.
 */
function warmRestart(problem: string, a: Csr, b: Float64Array, method: Method, precond: Preconditioner): void {
  const cold: number[] = [], warm: number[] = [];
  // CPU time of this process beside wall time: on a shared machine it shows what preemption adds.
  const coldCpu: number[] = [], warmCpu: number[] = [];
  // The cold solve's iterations alone (open, analysis and factorisation are the rest), and the
  // warm start's residual: together they bound what any warm re-solve can reach (below).
  const coldIterate: number[] = [];
  let startRes = 0;
  const cpu = (since: NodeJS.CpuUsage): number => { const u = process.cpuUsage(since); return (u.user + u.system) / 1e6; };
  let wi = 0, ci = 0, used = '';
  for (let r = 0; r < WARM_RUNS; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const s = SolverSession.open(a);
    s.setB(b);
    s.configure({ method, precond, tol: TOL });
    const ti = performance.now();
    const c = s.iterate(1_000_000);
    coldIterate.push((performance.now() - ti) / 1000);
    cold.push((performance.now() - t0) / 1000);
    coldCpu.push(cpu(c0));
    const ran = s.current();
    used = `${ran.method}+${ran.precond}`;
    // A cost update: 0.1% of b, seeded, each entry moved by up to ±1%.
    const { indices: idx, values: vals, b: bb } = perturbB(b, 1e-3, 1000 + r);
    const xCold = s.readX();
    const c1 = process.cpuUsage();
    const t1 = performance.now();
    s.updateB(idx, vals);
    const w = s.iterate(1_000_000);
    warm.push((performance.now() - t1) / 1000);
    warmCpu.push(cpu(c1));
    const res = relativeResidual(a, s.readX(), bb);
    startRes = relativeResidual(a, xCold, bb);
    if (r === 0) log(`  ${used}: after the update, cold x leaves a relative residual ${startRes.toExponential(2)} (tol ${TOL}); warm ends at ${res.toExponential(2)}`);
    if (c.status !== 'converged' || w.status !== 'converged' || res > TOL) log(`  warm re-solve FAILED: cold ${c.status}, warm ${w.status} res=${res}`);
    s.free();
    wi = w.iterations; ci = c.iterations;
  }
  const rt = median(warm) / median(cold);
  log(`  ${used}: cold ${fmt(median(cold))} (${ci} it), warm after 0.1% b update ${fmt(median(warm))} (${wi} it): ${(rt * 100).toFixed(0)}% of cold (target ≤ 35%: ${rt <= 0.35 ? 'MET' : 'MISSED'})`);
  log(`  per run, warm/cold wall: ${warm.map((w, k) => `${(100 * w / cold[k]!).toFixed(0)}%`).join(' ')}; CPU time cold ${fmt(median(coldCpu))}, warm ${fmt(median(warmCpu))}: ${(100 * median(warmCpu) / median(coldCpu)).toFixed(0)}%`);
  // A method whose contraction per iteration does not depend on the right-hand side needs
  // log(startRes/tol) / log(1/tol) of the cold iterations to take the warm residual down to tol
  // (the cold one starts from relative residual 1). The cold solve also pays for setup the warm
  // one reuses, so the lowest ratio such a re-solve can reach is that share of the cold
  // iterations' time over the whole cold time: below it only a method exploiting the update's
  // locality would go, and 0.1% of b spread over the grid touches every part of it.
  // An iteration's cost is taken from the warm solve (no setup in it): AMG builds its hierarchy
  // inside the first iterate(), so the cold iterate() time is not iterations alone there.
  const share = Math.log(startRes / TOL) / Math.log(1 / TOL);
  const perIteration = median(warm) / Math.max(wi, 1);
  const bound = (share * ci * perIteration) / median(cold);
  log(`  expected: the warm residual needs ${(100 * share).toFixed(0)}% of the cold iterations (log(${startRes.toExponential(2)}/${TOL}) / log(1/${TOL})); at the warm solve's ${fmt(perIteration)} per iteration, ${(share * ci).toFixed(1)} of the cold ${ci} iterations take ≈ ${(100 * bound).toFixed(0)}% of cold (fewer warm iterations than that share: the warm start contracts faster) (cold outside iterate(): ${fmt(median(cold) - median(coldIterate))}); measured warm/cold iterations ${wi}/${ci} = ${(100 * wi / ci).toFixed(0)}%`);
  const label = method === 'hybrid' ? `wasm hybrid (ran ${used})` : oursLabel(method, precond);
  rows.push({ problem: `warm restart: ${problem}`, n: a.n, solver: label, seconds: median(warm), iterations: wi, residual: null, cold: median(cold), cpu: median(warmCpu), coldCpu: median(coldCpu),
    note: `cold ${fmt(median(cold))} (${ci} it), ratio ${rt.toFixed(2)}, expected at the cold contraction rate ${bound.toFixed(2)}` });
}

const record = benchRecord('solver', RUNS);

async function main(): Promise<void> {
  log(`solver bench: tol ${TOL} (true relative residual), ${RUNS} runs, medians; node ${process.version}`);
  if (needsSublinear) log(`scipy: ${execFileSync(PY, ['-c', 'import scipy, numpy; print(scipy.__version__, numpy.__version__)'], { encoding: 'utf8' }).trim()}; sublinear-time-solver ${JSON.parse(readFileSync(join(PEERS, 'node_modules', 'sublinear-time-solver', 'package.json'), 'utf8')).version}`);
  const problems: Array<{ name: string; make: (m: number) => Csr; spd: boolean }> = [
    { name: 'poisson2d (shift 0.1)', make: (m) => poisson2d(m, 0.1), spd: true },
    { name: 'convection-diffusion (Pe 0.5, shift 0.1)', make: (m) => convectionDiffusion2d(m, 0.5, 0.1), spd: false },
  ];
  for (const n of only('sizes') ? sizes : []) {
    const m = Math.round(Math.sqrt(n));
    for (const p of problems.filter((q) => PROBLEMS.includes(q.spd ? 'poisson' : 'convdiff'))) {
      const a = p.make(m);
      const b = smoothRhs(a.n);
      const dir = join(OUT, `${p.spd ? 'poisson' : 'convdiff'}-${a.n}`);
      dump(a, b, dir);
      log(`\n== ${p.name}, n=${a.n}, nnz=${a.values.length}`);
      const methods: Array<[Method, Preconditioner]> = [['jacobi', 'none'], ['gauss_seidel', 'none'], ['neumann', 'none']];
      if (p.spd) methods.push(['cg', 'jacobi'], ['cg', 'ilu0'], ['cg', 'milu0'], ['cg', 'ssor']);
      methods.push(['bicgstab', 'jacobi'], ['bicgstab', 'ilu0'], ['bicgstab', 'milu0']);
      let best: number | null = null;
      for (const [meth, pc] of methods) {
        const t = await ours(p.name, a, b, meth, pc);
        if (t !== null && (best === null || t < best)) best = t;
      }
      // hybrid and the SciPy peers run interleaved, run by run: their ratio is the target.
      const peers = [...(p.spd ? [scipyContender(a, b, dir, 'cg')] : []), scipyContender(a, b, dir, 'bicgstab')];
      const [hybridAt, ...peerT] = await interleaved(p.name, a.n, [{ label: 'wasm hybrid', once: () => oursOnce(a, b, 'hybrid', 'jacobi'), ours: true }, ...peers]);
      const hybridT = hybridAt ?? null;
      if (hybridT !== null && (best === null || hybridT < best)) best = hybridT;
      const [sc, sb] = p.spd ? [peerT[0] ?? null, peerT[1] ?? null] : [null, peerT[0] ?? null];
      const scBest = [sc, sb].filter((x): x is number => x !== null).sort((x, y) => x - y)[0] ?? null;
      ratio('hybrid vs best SciPy', hybridT, scBest, 1.2);
      ratio('best WASM method vs best SciPy', best, scBest, 1.2);
      if (PEER_SET.has('sublinear')) sublinear(p.name, a, b, dir);
      if (p.spd) spmvFloor(a);
    }
  }
  // The default family measures SpMV beside each of its Poisson sizes; alone on request.
  for (const n of ONLY?.has('spmv') === true ? sizes : []) {
    const a = poisson2d(Math.round(Math.sqrt(n)), 0.1);
    log(`\n== poisson2d (shift 0.1), n=${a.n}, nnz=${a.values.length}`);
    spmvFloor(a);
  }
  if (only('amg')) await amgFamily();
  if (only('unstructured')) await unstructured();
  const nWeak = Math.max(...sizes);
  const mw = Math.round(Math.sqrt(nWeak));
  if (only('weak')) await weak(mw);
  if (only('warm')) {
    const mw = Math.round(Math.sqrt(WARM_SIZE ?? nWeak));
    // The issue's case (hybrid on shifted Poisson; before AMG its plan ended on CG+MILU(0), now it
    // may choose AMG) beside CG+MILU(0) itself, then the unshifted problem where AMG pays most:
    // CG+MILU(0), CG+AMG and hybrid. Whether AMG changes the warm ratio is the comparison.
    const shifted = poisson2d(mw, 0.1), unshifted = poisson2d(mw, 0);
    log(`\n== warm restart after a cost update, poisson2d (shift 0.1) n=${shifted.n}`);
    warmRestart('poisson2d (shift 0.1)', shifted, smoothRhs(shifted.n), 'cg', 'milu0');
    warmRestart('poisson2d (shift 0.1)', shifted, smoothRhs(shifted.n), 'hybrid', 'jacobi');
    log(`\n== warm restart after a cost update, poisson2d (unshifted) n=${unshifted.n}`);
    warmRestart('poisson2d (unshifted)', unshifted, smoothRhs(unshifted.n), 'cg', 'milu0');
    warmRestart('poisson2d (unshifted)', unshifted, smoothRhs(unshifted.n), 'cg', 'amg');
    warmRestart('poisson2d (unshifted)', unshifted, smoothRhs(unshifted.n), 'hybrid', 'jacobi');
  }
  writeFileSync(join(OUT, 'results.json'), JSON.stringify(rows, null, 2));
  // The report's figures, through the shared API: each row beside its same-run baseline.
  const file = record.done(solverFigures(rows), { rows });
  log(`\nresults: ${join(OUT, 'results.json')}, ${file}`);
}

/**
 * Unshifted and anisotropic Poisson across sizes: AMG-PCG (setup included) vs CG+MILU(0), the
 * best method before AMG, and SciPy's CG, interleaved run by run. The iteration counts across
 * sizes are AMG's scalability claim.
 */
async function amgFamily(): Promise<void> {
  const its: Record<string, number[]> = {};
  for (const [name, make] of [['poisson2d (unshifted)', (m: number) => poisson2d(m, 0)], ['anisotropic poisson2d (ε = 0.01, unshifted)', (m: number) => anisotropicPoisson2d(m, 0.01, 0)]] as const) {
    if (!AMG_PROBLEMS.includes(name.startsWith('aniso') ? 'aniso' : 'poisson0')) continue;
    for (const n of sizes) {
      const a = make(Math.round(Math.sqrt(n)));
      const b = smoothRhs(a.n);
      const dir = join(OUT, `${name.startsWith('aniso') ? 'aniso' : 'poisson0'}-${a.n}`);
      dump(a, b, dir);
      log(`\n== ${name}, n=${a.n}, nnz=${a.values.length}`);
      const [tA, tM, tS] = await interleaved(name, a.n, [
        { label: 'wasm cg+amg', once: () => oursOnce(a, b, 'cg', 'amg'), ours: true },
        { label: 'wasm cg+milu0', once: () => oursOnce(a, b, 'cg', 'milu0'), ours: true },
        scipyContender(a, b, dir, 'cg'),
      ]) as [number | null, number | null, number | null];
      const last = rows.filter((r) => r.problem === name && r.n === a.n);
      (its[`${name} amg`] ??= []).push(Number(last.find((r) => r.solver === 'wasm cg+amg')?.iterations));
      (its[`${name} milu0`] ??= []).push(Number(last.find((r) => r.solver === 'wasm cg+milu0')?.iterations));
      // Issue 21 sets the time targets at n = 1e6 (at 1e4 one MILU(0) solve is a few ms and its
      // cheaper setup wins); the iteration counts below are the claim across sizes.
      const atTarget = a.n >= 1e6;
      ratio('cg+amg vs cg+milu0', tA, tM, atTarget ? 1.5 : undefined);
      ratio('cg+amg vs SciPy cg', tA, tS, atTarget ? 10 : undefined);
    }
  }
  for (const [k, v] of Object.entries(its)) {
    const spread = Math.max(...v) / Math.min(...v);
    log(`  iterations ${k} at n=${sizes.join(', ')}: ${v.join(', ')} (max/min ${spread.toFixed(2)}${k.endsWith('amg') ? `, target ≤ 1.5: ${spread <= 1.5 ? 'MET' : 'MISSED'}` : ''})`);
  }
}

/**
 * The unstructured family from wasm/src/problems: random diagonally dominant (nonsymmetric,
 * worst-row dominance ratio 0.95), a power-law graph Laplacian plus a shift, and a nonsymmetric
 * network-flow M-matrix; hybrid vs the faster of SciPy's CG (symmetric members) and BiCGSTAB.
 */
async function unstructured(): Promise<void> {
  for (const n of sizes) {
    const family: Array<[string, Csr, boolean]> = [
      ['random diagonally dominant (5/row, ratio 0.95)', randomDominant(n, 5, 1.05, 31), false],
      ['power-law graph Laplacian + 0.1 (BA, m=3)', powerLawLaplacian(n, 3, 0.1, 32), true],
      ['network flow (ring + 3 random links, leak 0.05)', networkFlow(n, 3, 0.05, 33), false],
    ];
    for (const [name, a, spd] of family) {
      const b = smoothRhs(a.n);
      const dir = join(OUT, `unstructured-${name.split(' ')[0]}-${a.n}`);
      dump(a, b, dir);
      log(`\n== ${name}, n=${a.n}, nnz=${a.values.length}`);
      const [tH, ...peers] = await interleaved(name, a.n, [
        { label: 'wasm hybrid', once: () => oursOnce(a, b, 'hybrid', 'jacobi'), ours: true },
        ...(spd ? [scipyContender(a, b, dir, 'cg')] : []), scipyContender(a, b, dir, 'bicgstab'),
      ]);
      const best = peers.filter((x): x is number => x !== null).sort((x, y) => x - y)[0] ?? null;
      ratio('hybrid vs the faster SciPy', tH ?? null, best, 1.2);
      if (tH !== null && tH !== undefined && best !== null) await cpuPerSolve(name, a, b, dir, spd && peers[0] === best ? 'cg' : 'bicgstab', Math.max(tH, best));
    }
  }
}

/**
 * CPU time per solve, hybrid and the faster SciPy method, each over enough solves in a row to
 * take about CPU_WINDOW_S: a figure preemption on a loaded machine does not inflate, beside the
 * interleaved wall-time medians. Single solves cannot be timed so: this kernel accounts CPU time
 * in 4 ms ticks (CONFIG_TICK_CPU_ACCOUNTING, HZ=250), and a solve at n=1e4 takes ~5 ms.
 */
const CPU_WINDOW_S = 1;
async function cpuPerSolve(problem: string, a: Csr, b: Float64Array, dir: string, method: ScipyMethod, seconds: number): Promise<void> {
  const repeat = Math.max(1, Math.min(200, Math.ceil(CPU_WINDOW_S / seconds)));
  const c0 = process.cpuUsage();
  for (let k = 0; k < repeat; k++) {
    // oursOnce's timed part (and free), without reading x back and checking it.
    const s = SolverSession.open(a);
    s.setB(b);
    s.configure({ method: 'hybrid', precond: 'jacobi', tol: TOL, stagnationWindow: 5000 });
    s.iterate(1_000_000);
    s.free();
  }
  const c = process.cpuUsage(c0);
  const ours = (c.user + c.system) / 1e6 / repeat;
  const rep = await scipyServer!.request(dir, method, repeat);
  const peer = rep.cpu ?? NaN;
  const row = rows.find((r) => r.problem === problem && r.n === a.n && r.solver === 'wasm hybrid');
  if (row !== undefined) row.cpu = ours;
  const peerRow = rows.find((r) => r.problem === problem && r.n === a.n && r.solver === `scipy ${method}`);
  if (peerRow !== undefined) peerRow.cpu = peer;
  log(`  CPU time per solve over ${repeat} solves each: hybrid ${fmt(ours)}, scipy ${method} ${fmt(peer)}: ours/SciPy ${(ours / peer).toFixed(2)} (target ≤ 0.83: ${ours / peer <= 1 / 1.2 ? 'MET' : 'MISSED'})`);
}

async function weak(mw: number): Promise<void> {
  const a = weaklyDominant2d(mw, 1e-3);
  const b = smoothRhs(a.n);
  const dir = join(OUT, `weak-${a.n}`);
  dump(a, b, dir);
  log(`\n== weakly diagonally dominant (diag = off-diagonal sum + 1e-3), n=${a.n}`);
  // cg+none and SciPy's own Jacobi-PCG: the same iteration counts as SciPy cg / our cg+jacobi
  // show Jacobi scaling itself costs iterations here (the boundary rows' smaller diagonal).
  const tN = await ours('weak', a, b, 'cg', 'none');
  const tJ = await ours('weak', a, b, 'cg', 'jacobi');
  const tI = await ours('weak', a, b, 'cg', 'ilu0');
  const tM = await ours('weak', a, b, 'cg', 'milu0');
  const tS = await ours('weak', a, b, 'cg', 'ssor');
  const [tH, sc, sb] = await interleaved('weak', a.n, [
    { label: 'wasm hybrid', once: () => oursOnce(a, b, 'hybrid', 'jacobi'), ours: true },
    scipyContender(a, b, dir, 'cg'), scipyContender(a, b, dir, 'bicgstab'), scipyContender(a, b, dir, 'cg_jacobi', 'scipy cg + Jacobi M'),
  ]) as [number | null, number | null, number | null];
  void tN; void tJ; void tS;
  ratio('hybrid vs SciPy cg (unpreconditioned)', tH, sc, 3);
  ratio('hybrid vs SciPy bicgstab (unpreconditioned)', tH, sb, 3);
  ratio('cg+milu0 vs SciPy cg', tM, sc, 3);
  ratio('cg+ilu0 vs SciPy cg', tI, sc, 3);
}

if (needsSublinear && !existsSync(join(PEERS, 'node_modules', 'sublinear-time-solver'))) throw new Error('bench peers missing: run bench/solver/run.sh (make bench-solver)');
main().finally(() => scipyServer?.close()).catch((err: unknown) => { console.error(err); process.exitCode = 1; });
