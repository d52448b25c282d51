// Cost updates: b entries and A values change in place; the method resumes warm from x.
import { strict as assert } from 'node:assert';
import { SolverSession, relativeResidual } from '../../../wasm/index';
import { poisson2d, convectionDiffusion2d, networkFlow, randomDominant, smoothRhs } from '../../../wasm/src/problems';
import { bitIdentical } from './helpers';

describe('solver sessions: incremental updates and warm starts', () => {
  it('given repeated cost updates (with a repeated index), when hybrid re-solves warm on both backends, then every x is bit-identical', () => {
    const a = poisson2d(40);
    const b = smoothRhs(a.n);
    const run = (backend: 'wasm' | 'reference'): Float64Array[] => {
      const s = SolverSession.open(a, backend);
      s.setB(b);
      s.configure({ method: 'hybrid', tol: 1e-8 });
      const xs: Float64Array[] = [];
      assert.equal(s.iterate(10_000).status, 'converged');
      xs.push(s.readX());
      for (const [k, idx] of [[1, [7, 900, 7, 1333]], [2, [0, 1599]], [3, [800]]] as const) {
        s.updateB(idx, idx.map((i, j) => b[i]! * (1 + 0.01 * (j + k))));
        if (k === 3) s.iterate(2); // a partial slice, then another update before converging
        if (k === 3) s.updateB([801], [2]);
        assert.equal(s.iterate(10_000).status, 'converged');
        xs.push(s.readX());
      }
      s.free();
      return xs;
    };
    const w = run('wasm'), r = run('reference');
    w.forEach((x, k) => assert.ok(bitIdentical(x, r[k]!), `solve ${k} differs`));
  });

  // The kernel carries r̂·r from the pass that wrote r into the next step: a change of b or x
  // restarts the recurrences from the new residual, and the carried value must not survive it.
  // With SSOR (split form) the restart also turns the new b - Ax into L̃⁻¹(b - Ax) again.
  for (const [precond, a] of [['jacobi', randomDominant(3000, 5, 1.05, 21)], ['ssor', networkFlow(3000, 3, 0.05, 33)]] as const) {
    it(`given BiCGSTAB+${precond === 'ssor' ? 'SSOR' : 'Jacobi'} run in slices, when b or x changes between two slices, then the restart starts afresh and every x is bit-identical on both backends`, () => {
      const b = smoothRhs(a.n);
      const run = (backend: 'wasm' | 'reference'): Float64Array[] => {
        const s = SolverSession.open(a, backend);
        s.setB(b);
        s.configure({ method: 'bicgstab', precond, tol: 1e-10 });
        const xs: Float64Array[] = [];
        assert.equal(s.iterate(3).status, 'running');
        xs.push(s.readX());
        s.updateB([5, 1200, 2999], [3, -1, 0.5]);
        assert.equal(s.iterate(3).status, 'running');
        xs.push(s.readX());
        s.setX(s.readX().map((v) => v * 0.5));
        assert.equal(s.iterate(2).status, 'running');
        xs.push(s.readX());
        assert.equal(s.iterate(10_000).status, 'converged');
        xs.push(s.readX());
        s.free();
        return xs;
      };
      const w = run('wasm'), r = run('reference');
      w.forEach((x, k) => assert.ok(bitIdentical(x, r[k]!), `slice ${k} differs`));
    });
  }

  for (const backend of ['wasm', 'reference'] as const) {
    describe(`on the ${backend} backend`, () => {
      it('given a converged session, when 1% of b changes, then it re-converges from the warm x in fewer iterations than cold', () => {
        const a = poisson2d(30);
        const b = smoothRhs(a.n);
        const s = SolverSession.open(a, backend);
        s.setB(b);
        s.configure({ method: 'cg', tol: 1e-8 });
        const cold = s.iterate(10_000);
        assert.equal(cold.status, 'converged');
        const idx = [3, 100, 250, 401, 777, 899, 5, 640, 512];
        const vals = idx.map((i) => b[i]! * 1.05);
        s.updateB(idx, vals);
        const warm = s.iterate(10_000);
        assert.equal(warm.status, 'converged');
        assert.ok(warm.iterations < cold.iterations, `warm ${warm.iterations} vs cold ${cold.iterations}`);
        idx.forEach((i, k) => { b[i] = vals[k]!; });
        assert.ok(relativeResidual(a, s.readX(), b) <= 1e-8);
      });

      it('given a converged hybrid session on a symmetric matrix, when a few b entries change, then x moves only on those rows and the residual it leaves drops', () => {
        const a = poisson2d(30, 0.1);
        const b = smoothRhs(a.n);
        const s = SolverSession.open(a, backend);
        s.setB(b);
        s.configure({ method: 'hybrid', tol: 1e-8 });
        assert.equal(s.iterate(10_000).status, 'converged');
        const before = s.readX();
        const idx = [17, 333, 334, 870];
        const vals = idx.map((i) => b[i]! * 1.01);
        s.updateB(idx, vals);
        const after = s.readX();
        const nb = b.slice();
        idx.forEach((i, k) => { nb[i] = vals[k]!; });
        for (let i = 0; i < a.n; i++) if (!idx.includes(i)) assert.equal(after[i], before[i], `x[${i}] moved`);
        assert.ok(idx.every((i) => after[i] !== before[i]), 'every changed row relaxed');
        const left = relativeResidual(a, before, nb), relaxed = relativeResidual(a, after, nb);
        assert.ok(relaxed < 0.75 * left, `residual ${relaxed} after relaxing vs ${left} without`);
        assert.equal(s.iterate(10_000).status, 'converged');
        assert.ok(relativeResidual(a, s.readX(), nb) <= 1e-8);
        s.free();
      });

      it('given a row whose relaxation would raise the residual around it (diagonal 1, neighbours -0.9), when b changes there, then x is left as it was', () => {
        // Tridiagonal, symmetric: relaxing row 2 zeroes r_2 but puts 0.9·v on rows 1 and 3 (1.62 v² > v²).
        const n = 5;
        const rowPtr = new Int32Array(n + 1), cols: number[] = [], vals: number[] = [];
        for (let i = 0; i < n; i++) {
          if (i > 0) { cols.push(i - 1); vals.push(-0.9); }
          cols.push(i); vals.push(1);
          if (i < n - 1) { cols.push(i + 1); vals.push(-0.9); }
          rowPtr[i + 1] = cols.length;
        }
        const s = SolverSession.open({ n, rowPtr, colIdx: Int32Array.from(cols), values: Float64Array.from(vals) }, backend);
        assert.equal(s.analyze().symmetric, true);
        s.updateB([2], [1]);
        assert.ok(bitIdentical(s.readX(), new Float64Array(n)));
        s.free();
      });

      it('given a session whose matrix was never analysed (a method chosen directly), when b changes, then x is left as it was', () => {
        const a = poisson2d(12, 0.1);
        const b = smoothRhs(a.n);
        const s = SolverSession.open(a, backend);
        s.setB(b);
        s.configure({ method: 'cg', precond: 'milu0', tol: 1e-8 });
        assert.equal(s.iterate(10_000).status, 'converged');
        const before = s.readX();
        s.updateB([5, 77], [3, -2]);
        assert.ok(bitIdentical(s.readX(), before));
        s.free();
      });

      it('given an A update with the right old value, when applied, then the solve reflects the new matrix', () => {
        const a = convectionDiffusion2d(10);
        const s = SolverSession.open(a, backend);
        s.setB(smoothRhs(a.n));
        s.configure({ method: 'bicgstab', precond: 'ilu0', tol: 1e-10 });
        assert.equal(s.iterate(1000).status, 'converged');
        const diag0 = a.values[a.rowPtr[0]!]!;
        const [res] = s.updateA([{ row: 0, col: 0, oldValue: diag0, newValue: diag0 * 2 }]);
        assert.deepEqual(res, { outcome: 'applied', current: diag0 });
        assert.equal(s.iterate(1000).status, 'converged');
        const changed = { ...a, values: a.values.slice() };
        changed.values[a.rowPtr[0]!] = diag0 * 2;
        assert.ok(relativeResidual(changed, s.readX(), smoothRhs(a.n)) <= 1e-10);
      });

      it('given an A update with a stale old value, when applied, then it is reported as a conflict and A is unchanged', () => {
        const a = poisson2d(6);
        const s = SolverSession.open(a, backend);
        const results = s.updateA([
          { row: 0, col: 1, oldValue: -2, newValue: -3 },
          { row: 0, col: 20, oldValue: 0, newValue: 1 },
        ]);
        assert.deepEqual(results, [
          { outcome: 'old_value_mismatch', current: -1 },
          { outcome: 'not_in_pattern', current: 0 },
        ]);
      });

      it('given bad update input, when applied, then a clear error names it', () => {
        const s = SolverSession.open(poisson2d(4), backend);
        assert.throws(() => s.updateB([16], [1]), /updateB: index 16 outside 0\.\.15/);
        assert.throws(() => s.updateB([1], [NaN]), /not finite/);
        assert.throws(() => s.updateA([{ row: -1, col: 0, oldValue: 0, newValue: 1 }]), /row -1 outside/);
      });

      for (const precond of ['jacobi', 'milu0', 'none'] as const) {
        it(`given an iteration budget, when cg+${precond} is iterated in slices, then the slices add up to one uninterrupted solve`, () => {
          const a = poisson2d(20);
          const b = smoothRhs(a.n);
          const whole = SolverSession.open(a, backend);
          whole.setB(b);
          whole.configure({ method: 'cg', precond, tol: 1e-9 });
          const all = whole.iterate(10_000);
          const sliced = SolverSession.open(a, backend);
          sliced.setB(b);
          sliced.configure({ method: 'cg', precond, tol: 1e-9 });
          let r = sliced.iterate(3);
          while (r.status === 'running') {
            assert.ok(Number.isFinite(r.residualNorm));
            r = sliced.iterate(3);
          }
          assert.equal(r.status, 'converged');
          assert.equal(r.iterations, all.iterations);
          assert.ok(bitIdentical(sliced.readX(), whole.readX()));
        });
      }
    });
  }
});
