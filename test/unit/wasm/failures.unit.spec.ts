// Breakdown, stagnation and divergence come back as statuses, never as NaN that keeps going.
import { strict as assert } from 'node:assert';
import { SolverSession, csrFromCoo } from '../../../wasm/index';
import { convectionDiffusion2d, poisson2d, smoothRhs } from '../../../wasm/src/problems';
import type { Csr } from '../../../wasm/src/types';

function dense(rows: number[][]): Csr {
  const r: number[] = [], c: number[] = [], v: number[] = [];
  rows.forEach((row, i) => row.forEach((x, j) => { if (x !== 0) { r.push(i); c.push(j); v.push(x); } }));
  return csrFromCoo(rows.length, r, c, v);
}

describe('solver kernels: failure statuses', () => {
  for (const backend of ['wasm', 'reference'] as const) {
    describe(`on the ${backend} backend`, () => {
      it('given a symmetric indefinite matrix, when CG runs, then it reports breakdown with a finite x', () => {
        const s = SolverSession.open(dense([[1, 2], [2, 1]]), backend);
        s.setB([1, 0]);
        s.configure({ method: 'cg', precond: 'none', tol: 1e-10 });
        const r = s.iterate(100);
        assert.ok(['breakdown', 'converged'].includes(r.status), r.status);
        assert.ok(s.readX().every(Number.isFinite));
      });

      it('given a matrix that is not diagonally dominant, when Jacobi runs, then it reports divergence before x overflows', () => {
        const s = SolverSession.open(dense([[1, 3], [3, 1]]), backend);
        s.setB([1, 1]);
        s.configure({ method: 'jacobi', tol: 1e-10 });
        const r = s.iterate(10_000);
        assert.equal(r.status, 'diverged');
        assert.ok(s.readX().every(Number.isFinite));
      });

      it('given a tolerance below rounding, when CG runs, then it reports stagnation', () => {
        const a = poisson2d(12);
        const s = SolverSession.open(a, backend);
        s.setB(smoothRhs(a.n));
        s.configure({ method: 'cg', tol: 1e-30, stagnationWindow: 50 });
        const r = s.iterate(100_000);
        assert.equal(r.status, 'stagnated');
        assert.ok(s.trueResidual() < 1e-12);
      });

      it('given a zero on the diagonal, when Jacobi is asked for, then it is not applicable', () => {
        const s = SolverSession.open(dense([[0, 1], [1, 0]]), backend);
        s.setB([1, 2]);
        s.configure({ method: 'jacobi', tol: 1e-8 });
        assert.equal(s.iterate(10).status, 'not_applicable');
      });

      it('given a nonsymmetric problem, when hybrid runs, then it picks BiCGSTAB and converges', () => {
        const a = convectionDiffusion2d(12);
        const s = SolverSession.open(a, backend);
        s.setB(smoothRhs(a.n));
        s.configure({ method: 'hybrid', tol: 1e-9 });
        assert.equal(s.current().method, 'bicgstab');
        assert.equal(s.iterate(10_000).status, 'converged');
        assert.ok(s.trueResidual() <= 1e-9);
      });

      it('given a zero pivot for ILU(0) and a zero diagonal, when hybrid runs, then it falls back and still converges', () => {
        const s = SolverSession.open(dense([[0, 2, 0], [1, 0, 1], [0, 1, 3]]), backend);
        s.setB([1, 2, 3]);
        s.configure({ method: 'hybrid', tol: 1e-10 });
        const r = s.iterate(1000);
        assert.equal(r.status, 'converged');
        assert.deepEqual(s.current(), { method: 'bicgstab', precond: 'none' });
        assert.ok(s.trueResidual() <= 1e-10);
      });

      it('given a system where the last fallback blows up, when hybrid runs, then it reports divergence with a finite x', () => {
        const s = SolverSession.open(dense([[0, 1, 0], [1, 0, 1], [0, 1, 1]]), backend);
        s.setB([1, 2, 3]);
        s.configure({ method: 'hybrid', tol: 1e-10 });
        const r = s.iterate(1000);
        assert.ok(['diverged', 'converged'].includes(r.status), r.status);
        assert.ok(s.readX().every(Number.isFinite));
      });
    });
  }
});
