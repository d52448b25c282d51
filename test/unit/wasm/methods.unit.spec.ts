// Every method converges where theory says it should, to a true residual within tolerance, and
// the WASM kernel reproduces the plain TypeScript reference bit for bit.
import { strict as assert } from 'node:assert';
import { SolverSession, relativeResidual, type BaseMethod, type Preconditioner } from '../../../wasm/index';
import { anisotropicPoisson2d, convectionDiffusion2d, networkFlow, poisson2d, randomDominant, smoothRhs, weaklyDominant2d } from '../../../wasm/src/problems';
import type { Csr } from '../../../wasm/src/types';
import { bitIdentical, solveWith } from './helpers';

const TOL = 1e-8;

interface Case { readonly name: string; readonly a: Csr; readonly symmetric: boolean; readonly strictlyDominant: boolean; readonly mMatrix?: boolean }

const cases: Case[] = [
  { name: '2D Poisson (shifted), 24×24', a: poisson2d(24), symmetric: true, strictlyDominant: true, mMatrix: true },
  { name: 'anisotropic Poisson, 20×20', a: anisotropicPoisson2d(20), symmetric: true, strictlyDominant: true, mMatrix: true },
  { name: '2D convection-diffusion, 24×24', a: convectionDiffusion2d(24), symmetric: false, strictlyDominant: true, mMatrix: true },
  { name: 'random diagonally dominant, n=400', a: randomDominant(400, 4, 1.3, 7), symmetric: false, strictlyDominant: true },
  { name: 'random symmetric diagonally dominant, n=400', a: randomDominant(400, 3, 1.3, 11, true), symmetric: true, strictlyDominant: true },
  { name: 'weakly diagonally dominant grid, 16×16', a: weaklyDominant2d(16, 1e-3), symmetric: true, strictlyDominant: false, mMatrix: true },
  // Dominant by columns, not rows (BiCGSTAB with modified ILU(0) stagnates on it).
  { name: 'network flow (ring + 3 random links), n=400', a: networkFlow(400, 3, 0.05, 9), symmetric: false, strictlyDominant: false },
];

const runs: Array<{ method: BaseMethod | 'hybrid'; precond: Preconditioner; applies: (c: Case) => boolean }> = [
  // Stationary methods and the Neumann series converge for strictly diagonally dominant A.
  { method: 'jacobi', precond: 'none', applies: (c) => c.strictlyDominant },
  { method: 'gauss_seidel', precond: 'none', applies: (c) => c.strictlyDominant || c.symmetric },
  { method: 'neumann', precond: 'none', applies: (c) => c.strictlyDominant },
  // CG needs SPD (symmetric, diagonally dominant, positive diagonal ⇒ SPD).
  { method: 'cg', precond: 'jacobi', applies: (c) => c.symmetric },
  { method: 'cg', precond: 'ilu0', applies: (c) => c.symmetric },
  { method: 'cg', precond: 'ssor', applies: (c) => c.symmetric },
  // Modified ILU(0) is built for M-matrices (nonpositive off-diagonals, dominant diagonal).
  { method: 'cg', precond: 'milu0', applies: (c) => c.symmetric && c.mMatrix === true },
  { method: 'bicgstab', precond: 'milu0', applies: (c) => c.mMatrix === true },
  { method: 'bicgstab', precond: 'jacobi', applies: () => true },
  { method: 'bicgstab', precond: 'ilu0', applies: () => true },
  // SSOR in split form (Eisenstat): its own sweeps and residual estimate.
  { method: 'bicgstab', precond: 'ssor', applies: () => true },
  { method: 'bicgstab', precond: 'none', applies: () => true },
  { method: 'hybrid', precond: 'jacobi', applies: () => true },
];

describe('solver kernels: convergence and WASM = reference', () => {
  for (const c of cases) {
    describe(`given ${c.name}`, () => {
      const b = smoothRhs(c.a.n);
      for (const r of runs) {
        if (!r.applies(c)) continue;
        it(`when solved by ${r.method}${r.method === 'cg' || r.method === 'bicgstab' ? `+${r.precond}` : ''}, then it converges, the true residual is ≤ tol, and WASM matches the reference bit for bit`, () => {
          const opts = { method: r.method, precond: r.precond, tol: TOL, stagnationWindow: 100_000 };
          const w = solveWith('wasm', c.a, b, opts, 200_000);
          assert.equal(w.status, 'converged');
          assert.ok(relativeResidual(c.a, w.x, b) <= TOL, `recomputed residual ${relativeResidual(c.a, w.x, b)}`);
          assert.ok(w.trueResidual <= TOL);
          const ref = solveWith('reference', c.a, b, opts, 200_000);
          assert.equal(ref.status, w.status);
          assert.equal(ref.iterations, w.iterations);
          assert.ok(bitIdentical(ref.x, w.x), 'x differs from the reference');
        });
      }
    });
  }

  describe('given a weakly diagonally dominant M-matrix', () => {
    it('when hybrid runs, then its Jacobi probe predicts a long solve and it moves on to CG with modified ILU(0), which needs far fewer iterations than ILU(0)', () => {
      const a = weaklyDominant2d(48, 1e-3);
      const b = smoothRhs(a.n);
      const s = SolverSession.open(a);
      s.setB(b);
      s.configure({ method: 'hybrid', tol: TOL });
      assert.deepEqual(s.current(), { method: 'cg', precond: 'jacobi', probe: true });
      assert.equal(s.iterate(10_000).status, 'converged');
      assert.deepEqual(s.current(), { method: 'cg', precond: 'milu0' });
      s.free();
      const milu = solveWith('wasm', a, b, { method: 'cg', precond: 'milu0', tol: TOL });
      const ilu = solveWith('wasm', a, b, { method: 'cg', precond: 'ilu0', tol: TOL });
      assert.equal(milu.status, 'converged');
      assert.ok(milu.iterations * 2 < ilu.iterations, `milu0 ${milu.iterations} vs ilu0 ${ilu.iterations} iterations`);
    });
  });

  describe('given more rows than the kernel\'s SpMV walks in one stream (2^16)', () => {
    // From 2^16 rows on, spmvDot and residual walk A's two halves together, four rows at a time
    // (one check for four rows of five entries), and add the second half's terms afterwards, in
    // row order: the same sums as the reference's one pass. The random matrices mix rows of five
    // with others, so blocks take both the fixed-length path and the general one.
    const cases = [
      { name: 'Poisson 257×257 = 66049 rows (odd)', a: poisson2d(257), runs: [['cg', 'milu0'], ['bicgstab', 'jacobi']] as const },
      { name: 'random, 4 off-diagonals per row, 70001 rows', a: randomDominant(70_001, 4, 1.5, 17), runs: [['bicgstab', 'jacobi']] as const },
      { name: 'random symmetric, rows of 2 to 14 entries, 70003 rows', a: randomDominant(70_003, 2, 1.5, 18, true), runs: [['cg', 'jacobi']] as const },
    ];
    for (const { name, a, runs } of cases) {
      const b = smoothRhs(a.n);
      for (const [method, precond] of runs) {
        it(`${name}: when ${method}+${precond} runs a few iterations, then x, the residual estimate and the true residual match the reference bit for bit`, () => {
          const out = (['wasm', 'reference'] as const).map((backend) => {
            const s = SolverSession.open(a, backend);
            try {
              s.setB(b);
              s.configure({ method, precond, tol: 1e-14 });
              const r = s.iterate(4);
              return { r, x: s.readX(), trueResidual: s.trueResidual() };
            } finally {
              s.free();
            }
          });
          const [w, ref] = out as [typeof out[0], typeof out[0]];
          assert.equal(w.r.status, 'running');
          assert.equal(w.r.iterations, 4);
          assert.equal(w.r.residualNorm, ref.r.residualNorm);
          assert.equal(w.trueResidual, ref.trueResidual);
          assert.ok(bitIdentical(w.x, ref.x), 'x differs from the reference');
        });
      }
    }
  });

  describe('given the same inputs twice', () => {
    it('when solved again in a fresh session, then x is bit-identical', () => {
      const a = convectionDiffusion2d(20);
      const b = smoothRhs(a.n);
      const first = solveWith('wasm', a, b, { method: 'hybrid', tol: TOL });
      const second = solveWith('wasm', a, b, { method: 'hybrid', tol: TOL });
      assert.ok(bitIdentical(first.x, second.x));
    });
  });
});
