// Phase timing for one problem: open / setB / configure / iterate, medians of --runs, plus a warm
// re-solve after a 0.1% b update. Usage: tsx bench/solver/phases.ts --problem poisson|convdiff|weak --n 1e6 --method hybrid [--precond jacobi]
import { SolverSession, relativeResidual, type Method, type Preconditioner } from '../../wasm/index';
import { convectionDiffusion2d, poisson2d, perturbB, smoothRhs, weaklyDominant2d } from '../../wasm/src/problems';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const m = Math.round(Math.sqrt(Number(args.get('n') ?? 1e6)));
const prob = args.get('problem') ?? 'poisson';
const a = prob === 'weak' ? weaklyDominant2d(m, 1e-3) : prob === 'convdiff' ? convectionDiffusion2d(m, 0.5, 0.1) : poisson2d(m, 0.1);
const b = smoothRhs(a.n);
const method = (args.get('method') ?? 'hybrid') as Method;
const precond = (args.get('precond') ?? 'jacobi') as Preconditioner;
const runs = Number(args.get('runs') ?? 3);
const warm = args.get('warm') === '1';
const med = (xs: number[]): number => [...xs].sort((p, q) => p - q)[Math.floor((xs.length - 1) / 2)]!;
const ph: Record<string, number[]> = { open: [], setB: [], analyze: [], configure: [], iterate: [], total: [], warm: [] };
let its = 0, wits = 0, res = 0, wres = 0, status = '', cur = '';
for (let r = 0; r < runs; r++) {
  let t = performance.now(); const t0 = t;
  const s = SolverSession.open(a);
  let u = performance.now(); ph.open!.push(u - t); t = u;
  s.setB(b);
  u = performance.now(); ph.setB!.push(u - t); t = u;
  if (method === 'hybrid') s.analyze();
  u = performance.now(); ph.analyze!.push(u - t); t = u;
  s.configure({ method, precond, tol: 1e-8, stagnationWindow: 5000 });
  u = performance.now(); ph.configure!.push(u - t); t = u;
  const out = s.iterate(1_000_000);
  u = performance.now(); ph.iterate!.push(u - t); ph.total!.push(u - t0);
  its = out.iterations; status = out.status; cur = `${s.current().method}+${s.current().precond}`;
  res = relativeResidual(a, s.readX(), b);
  if (warm) {
    // A cost update: 0.1% of b, seeded, each entry moved by up to ±1%.
    const { indices: idx, values: vals, b: bb } = perturbB(b, 1e-3, 1000 + r);
    const t1 = performance.now();
    s.updateB(idx, vals);
    const w = s.iterate(1_000_000);
    ph.warm!.push(performance.now() - t1);
    wits = w.iterations; wres = relativeResidual(a, s.readX(), bb);
  }
  s.free();
}
const f = (k: string): string => `${k} ${med(ph[k]!).toFixed(1)}`;
console.log(`${prob} n=${a.n} ${method}(${cur}) ${status} it=${its} res=${res.toExponential(2)} | ${['open', 'setB', 'analyze', 'configure', 'iterate', 'total'].map(f).join(' ')} ms | per-it ${(med(ph.iterate!) / its).toFixed(2)} ms` +
  (warm ? ` | warm ${med(ph.warm!).toFixed(1)} ms it=${wits} res=${wres.toExponential(2)} ratio ${(med(ph.warm!) / med(ph.total!) * 100).toFixed(0)}%` : ''));
