// Verification probes (residual on chosen rows) and sublinear single-entry estimates.
import { strict as assert } from 'node:assert';
import { SolverSession, multiply } from '../../../wasm/index';
import { poisson2d, randomDominant, smoothRhs } from '../../../wasm/src/problems';

describe('solver sessions: probes and single-entry estimates', () => {
  const a = poisson2d(150, 0.5);
  const b = smoothRhs(a.n);

  it('given some x, when residuals are asked for a few rows, then they equal b - Ax on those rows', () => {
    const s = SolverSession.open(a, 'wasm');
    s.setB(b);
    const x = Float64Array.from({ length: a.n }, (_, i) => Math.cos(i));
    s.setX(x);
    const ax = multiply(a, x);
    const rows = [0, 17, a.n - 1, 800];
    const { residuals, maxAbs } = s.residualRows(rows);
    rows.forEach((i, k) => assert.equal(residuals[k], b[i]! - ax[i]!));
    assert.equal(maxAbs, Math.max(...rows.map((i) => Math.abs(b[i]! - ax[i]!))));
  });

  function exact(): Float64Array {
    const s = SolverSession.open(a, 'wasm');
    s.setB(b);
    s.configure({ method: 'cg', tol: 1e-14, stagnationWindow: 50 });
    s.iterate(10_000);
    return s.readX();
  }
  const x = exact();

  for (const backend of ['wasm', 'reference'] as const) {
    it(`given a strictly dominant system (${backend}), when x_i is estimated by local push, then the error is within the bound`, () => {
      const s = SolverSession.open(a, backend);
      s.setB(b);
      for (const i of [0, 11_275, a.n - 1]) {
        const e = s.estimateEntry(i, { eps: 1e-6 });
        assert.ok(Math.abs(e.value - x[i]!) <= e.bound + 1e-12, `i=${i}: |${e.value} - ${x[i]}| > ${e.bound}`);
        assert.ok(e.bound <= 1e-6);
      }
    });

    it(`given a seed (${backend}), when x_i is estimated by random walks, then the error is within the bound and the same seed repeats the answer`, () => {
      const s = SolverSession.open(a, backend);
      s.setB(b);
      const e1 = s.estimateEntry(820, { eps: 1e-3, algorithm: 'walk', walks: 4000, seed: 42 });
      const e2 = s.estimateEntry(820, { eps: 1e-3, algorithm: 'walk', walks: 4000, seed: 42 });
      assert.equal(e1.value, e2.value);
      assert.ok(Math.abs(e1.value - x[820]!) <= e1.bound, `|${e1.value} - ${x[820]}| > ${e1.bound}`);
    });
  }

  it('given the same stencil on a 4× larger grid, when x at an interior point is estimated, then the push work does not grow with n', () => {
    const big = poisson2d(300, 0.5);
    const work = [a, big].map((m) => {
      const s = SolverSession.open(m, 'wasm');
      s.setB(new Float64Array(m.n).fill(1));
      const side = Math.sqrt(m.n);
      return s.estimateEntry((side / 2) * side + side / 2, { eps: 1e-6 }).work;
    });
    assert.equal(work[1], work[0]);
  });

  it('given the WASM kernel and the reference, when both estimate, then they agree bit for bit', () => {
    const m = randomDominant(300, 4, 1.5, 3);
    const rhs = smoothRhs(m.n);
    const [w, r] = (['wasm', 'reference'] as const).map((be) => {
      const s = SolverSession.open(m, be);
      s.setB(rhs);
      return [s.estimateEntry(5, { eps: 1e-8 }), s.estimateEntry(5, { eps: 1e-2, algorithm: 'walk', walks: 500, seed: 9 })];
    });
    assert.deepEqual(w, r);
  });
});
