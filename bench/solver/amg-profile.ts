// AMG profile: setup (configure → start) and per-iteration cost of CG+AMG vs CG+MILU(0), CPU time
// of this process (the machine is shared), plus the hierarchy's shape (rows, nnz, complexities).
// Usage: tsx bench/solver/amg-profile.ts [--n 1e5] [--problem poisson0|aniso] [--runs 2] [--pcs amg,milu0]
import { SolverSession, relativeResidual, type Preconditioner } from '../../wasm/index';
import { anisotropicPoisson2d, poisson2d, smoothRhs } from '../../wasm/src/problems';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const m = Math.round(Math.sqrt(Number(args.get('n') ?? 1e5)));
const prob = args.get('problem') ?? 'poisson0';
const a = prob === 'aniso' ? anisotropicPoisson2d(m, 0.01, 0) : poisson2d(m, 0);
const b = smoothRhs(a.n);
const runs = Number(args.get('runs') ?? 2);
const pcs = (args.get('pcs') ?? 'amg,milu0').split(',') as Preconditioner[];
const cpu = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const med = (xs: number[]): number => [...xs].sort((p, q) => p - q)[Math.floor((xs.length - 1) / 2)]!;
for (const pc of pcs) {
  const setup: number[] = [], iter: number[] = [], total: number[] = [], wall: number[] = [];
  let its = 0, res = 0;
  for (let r = 0; r < runs; r++) {
    const w0 = performance.now(); const c0 = cpu();
    const s = SolverSession.open(a);
    s.setB(b);
    s.configure({ method: 'cg', precond: pc, tol: 1e-8, stagnationWindow: 5000 });
    const c1 = cpu();
    const out = s.iterate(1_000_000);
    const c2 = cpu();
    wall.push(performance.now() - w0);
    setup.push(c1 - c0); iter.push(c2 - c1); total.push(c2 - c0);
    its = out.iterations; res = relativeResidual(a, s.readX(), b);
    if (pc === 'amg' && r === 0) {
      const h = s.amgHierarchy();
      const nnz = h.reduce((acc, L) => acc + L.a.values.length, 0), rows = h.reduce((acc, L) => acc + L.n, 0);
      const pn = h.reduce((acc, L) => acc + (L.p?.values.length ?? 0), 0);
      console.log(`  levels ${h.map((L) => `${L.n}/${L.a.values.length}`).join(' → ')}; operator complexity ${(nnz / a.values.length).toFixed(2)}, grid ${(rows / a.n).toFixed(2)}, P nnz/n0 ${(pn / a.n).toFixed(2)}`);
    }
    s.free();
  }
  console.log(`${prob} n=${a.n} cg+${pc}: it=${its} res=${res.toExponential(1)} | CPU open+setup ${med(setup).toFixed(1)} ms, iterate ${med(iter).toFixed(1)} ms (${(med(iter) / its).toFixed(2)} ms/it), total ${med(total).toFixed(1)} ms; wall ${med(wall).toFixed(1)} ms`);
}
