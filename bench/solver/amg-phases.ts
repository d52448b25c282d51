// AMG kernel phases, CPU time: first setup (fresh pages), setup again (pages reused), value-only
// rebuild, one cycle (M⁻¹r), one SpMV for scale. Usage: tsx bench/solver/amg-phases.ts [--n 2.5e5] [--problem poisson0|aniso] [--reps 5]
import { WasmKernel } from '../../wasm/src/wasm-kernel';
import { anisotropicPoisson2d, poisson2d, smoothRhs } from '../../wasm/src/problems';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const m = Math.round(Math.sqrt(Number(args.get('n') ?? 2.5e5)));
const a = args.get('problem') === 'aniso' ? anisotropicPoisson2d(m, 0.01, 0) : poisson2d(m, 0);
const reps = Number(args.get('reps') ?? 5);
const cpu = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const med = (xs: number[]): number => [...xs].sort((p, q) => p - q)[Math.floor((xs.length - 1) / 2)]!;
const k = new WasmKernel(a.n, a.values.length);
k.load(a);
k.setB(smoothRhs(a.n));
const pf0 = process.resourceUsage();
let t = cpu();
k.start(2, 5, 1);
const first = cpu() - t;
const pf1 = process.resourceUsage();
console.log(`first setup: hierarchy ${((k as unknown as { k: { amgBytes: () => number } }).k.amgBytes() / 1e6).toFixed(1)} MB, ${pf1.minorPageFault - pf0.minorPageFault} minor faults, user ${((pf1.userCPUTime - pf0.userCPUTime) / 1000).toFixed(1)} ms, sys ${((pf1.systemCPUTime - pf0.systemCPUTime) / 1000).toFixed(1)} ms`);
const again: number[] = [], rebuild: number[] = [], cyc: number[] = [], spmv: number[] = [];
for (let r = 0; r < reps; r++) {
  k.amgReset(); t = cpu(); k.start(2, 5, 1); again.push(cpu() - t);
}
const v = smoothRhs(a.n);
for (let r = 0; r < reps; r++) {
  t = cpu(); for (let q = 0; q < 10; q++) k.applyPreconditioner(v); cyc.push((cpu() - t) / 10);
  t = cpu(); k.spmvRepeat(10); spmv.push((cpu() - t) / 10);
}
const h = k.amgHierarchy();
console.log(`n=${a.n} levels ${h.map((L) => L.n).join('→')} | setup first ${first.toFixed(1)} ms, again ${med(again).toFixed(1)} ms | cycle ${med(cyc).toFixed(2)} ms (incl. copy in/out) | spmv ${med(spmv).toFixed(2)} ms | cycle/spmv ${(med(cyc) / med(spmv)).toFixed(1)}`);
k.free();
// Cycle cost from each level down: a level's own cost is its figure minus its visits' to the next.
{
  const k2 = new WasmKernel(a.n, a.values.length);
  k2.load(a); k2.setB(smoothRhs(a.n)); k2.start(2, 5, 1);
  k2.applyPreconditioner(smoothRhs(a.n));
  const ex = (k2 as unknown as { k: { amgCycleFrom: (l: number, r: number, s: number, d: number) => void; stagePtr: (b: number) => number } }).k;
  const base = ex.stagePtr(a.n * 16 + 16);
  const levels = k2.amgHierarchy().length;
  const out: string[] = [];
  for (let l = 0; l < levels; l++) {
    const R = l === 0 ? 10 : 50;
    const ts: number[] = [];
    for (let r = 0; r < 3; r++) { const t0 = cpu(); ex.amgCycleFrom(l, R, (base + 7) & ~7, ((base + 7) & ~7) + a.n * 8); ts.push((cpu() - t0) / R); }
    out.push(`from ${l}: ${med(ts).toFixed(3)} ms`);
  }
  console.log(out.join(', '));
}
