// Phase timing for the unstructured family (bench.ts --only unstructured) at one size: open / setB /
// configure (analysis) / iterate of hybrid, medians and minima of --runs, and SpMV alone.
// Usage: tsx bench/solver/unstructured-phases.ts --problem random|powerlaw|flow --n 1e4 [--runs 30] [--method hybrid] [--precond jacobi]
import { SolverSession, relativeResidual, type Method, type Preconditioner } from '../../wasm/index';
import { networkFlow, powerLawLaplacian, randomDominant, smoothRhs } from '../../wasm/src/problems';
import { WasmKernel } from '../../wasm/src/wasm-kernel';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const n = Number(args.get('n') ?? 1e4);
const prob = args.get('problem') ?? 'random';
// The generators and seeds of bench.ts's unstructured family.
const a = prob === 'flow' ? networkFlow(n, 3, 0.05, 33) : prob === 'powerlaw' ? powerLawLaplacian(n, 3, 0.1, 32) : randomDominant(n, 5, 1.05, 31);
const b = smoothRhs(a.n);
const method = (args.get('method') ?? 'hybrid') as Method;
const precond = (args.get('precond') ?? 'jacobi') as Preconditioner;
const runs = Number(args.get('runs') ?? 30);
const med = (xs: number[]): number => [...xs].sort((p, q) => p - q)[Math.floor((xs.length - 1) / 2)]!;
const min = (xs: number[]): number => Math.min(...xs);
const names = ['open', 'setB', 'configure', 'iterate', 'total', 'cpu'] as const;
const ph: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
let its = 0, res = 0, status = '', cur = '';
for (let r = 0; r < runs; r++) {
  const c0 = process.cpuUsage();
  let t = performance.now(); const t0 = t;
  const s = SolverSession.open(a);
  let u = performance.now(); ph.open!.push(u - t); t = u;
  s.setB(b);
  u = performance.now(); ph.setB!.push(u - t); t = u;
  s.configure({ method, precond, tol: 1e-8, stagnationWindow: 5000 });
  u = performance.now(); ph.configure!.push(u - t); t = u;
  const out = s.iterate(1_000_000);
  u = performance.now(); ph.iterate!.push(u - t); ph.total!.push(u - t0);
  const c = process.cpuUsage(c0); ph.cpu!.push((c.user + c.system) / 1000);
  its = out.iterations; status = out.status; cur = `${s.current().method}+${s.current().precond}`;
  res = relativeResidual(a, s.readX(), b);
  s.free();
}
const k = new WasmKernel(a.n, a.values.length);
k.load(a); k.setX(b);
const reps = Math.max(3, Math.round(3e7 / (a.values.length * 12)));
const sp: number[] = [];
k.spmvRepeat(reps);
for (let r = 0; r < 7; r++) { const t0 = performance.now(); k.spmvRepeat(reps); sp.push((performance.now() - t0) / reps); }
k.free();
if (process.env.ALL) console.log(names.map((k2) => `${k2} ${ph[k2]!.map((v) => v.toFixed(2)).join(" ")}`).join("\n"));
const f = (key: string): string => `${key} ${med(ph[key]!).toFixed(2)}/${min(ph[key]!).toFixed(2)}`;
console.log(`${prob} n=${a.n} nnz=${a.values.length} ${method}(${cur}) ${status} it=${its} res=${res.toExponential(2)} | median/min ms: ${names.map(f).join(' ')} | spmv ${(med(sp) * 1000).toFixed(0)} µs`);
