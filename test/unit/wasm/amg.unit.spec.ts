// Smoothed-aggregation AMG: the hierarchy against properties that can be checked by hand, the
// V-cycle's symmetry (what CG relies on), bounded iteration counts, WASM = reference bit for bit,
// and the value-only rebuild on a kept structure.
import { strict as assert } from 'node:assert';
import { SolverSession, relativeResidual, type Backend } from '../../../wasm/index';
import { AMG_MIN_ROWS } from '../../../wasm/src/session';
import type { AmgLevelInfo, SparseRows } from '../../../wasm/src/kernel';
import { anisotropicPoisson2d, networkFlow, poisson2d, powerLawLaplacian, randomDominant, seededRandom, smoothRhs } from '../../../wasm/src/problems';
import type { Csr } from '../../../wasm/src/types';
import { bitIdentical, solveWith } from './helpers';

const TOL = 1e-8;

function opened(a: Csr, backend: Backend = 'wasm', method: 'cg' | 'bicgstab' = 'cg'): SolverSession {
  const s = SolverSession.open(a, backend);
  s.setB(smoothRhs(a.n));
  s.configure({ method, precond: 'amg', tol: TOL });
  return s;
}

function dense(m: SparseRows, rows: number, cols: number): Float64Array[] {
  const d = Array.from({ length: rows }, () => new Float64Array(cols));
  for (let i = 0; i < rows; i++) for (let k = m.rowPtr[i]!; k < m.rowPtr[i + 1]!; k++) d[i]![m.colIdx[k]!] = d[i]![m.colIdx[k]!]! + m.values[k]!;
  return d;
}

const dot = (u: Float64Array, v: Float64Array): number => u.reduce((acc, x, i) => acc + x * v[i]!, 0);

function randomVector(n: number, seed: number): Float64Array {
  const r = seededRandom(seed);
  return Float64Array.from({ length: n }, () => 2 * r() - 1);
}

describe('AMG preconditioner (smoothed aggregation)', () => {
  describe('given unshifted 2D Poisson on a 40×40 grid', () => {
    const a = poisson2d(40, 0);
    let levels: AmgLevelInfo[] = [];
    before(() => { const s = opened(a); levels = s.amgHierarchy(); s.free(); });

    it('when the hierarchy is built, then it has several levels, each coarser than the one above', () => {
      assert.ok(levels.length >= 3, `${levels.length} levels`);
      for (let l = 1; l < levels.length; l++) assert.ok(levels[l]!.n * 2 < levels[l - 1]!.n, `level ${l}: ${levels[l]!.n} rows after ${levels[l - 1]!.n}`);
    });

    it('then the aggregates cover every row (all are strongly connected here) and every aggregate is used', () => {
      for (const L of levels.slice(0, -1)) {
        const seen = new Uint8Array(L.nc!);
        for (let i = 0; i < L.n; i++) {
          const c = L.agg![i]!;
          assert.ok(c >= 0 && c < L.nc!, `row ${i} in aggregate ${c} of ${L.nc}`);
          seen[c] = 1;
        }
        assert.ok(seen.every((v) => v === 1), 'an empty aggregate');
      }
    });

    it('then row i of P holds exactly the aggregates of i and of its neighbours (every connection is strong on Poisson)', () => {
      const L = levels[0]!;
      for (let i = 0; i < L.n; i++) {
        const expected = new Set<number>();
        for (let k = a.rowPtr[i]!; k < a.rowPtr[i + 1]!; k++) expected.add(L.agg![a.colIdx[k]!]!);
        const got = Array.from(L.p!.colIdx.subarray(L.p!.rowPtr[i]!, L.p!.rowPtr[i + 1]!));
        assert.equal(got.length, expected.size, `row ${i}: ${got} vs ${[...expected]}`);
        assert.deepEqual(new Set(got), expected);
      }
    });

    it('then every coarse operator equals Pᵀ A P computed densely', () => {
      for (let l = 0; l + 1 < levels.length; l++) {
        const L = levels[l]!, C = levels[l + 1]!;
        const A = dense(L.a, L.n, L.n), P = dense(L.p!, L.n, C.n), Ac = dense(C.a, C.n, C.n);
        const AP = A.map((row) => { const out = new Float64Array(C.n); row.forEach((v, k) => { if (v !== 0) P[k]!.forEach((p, J) => { out[J] = out[J]! + v * p; }); }); return out; });
        const PtAP = Array.from({ length: C.n }, () => new Float64Array(C.n));
        for (let i = 0; i < L.n; i++) P[i]!.forEach((p, I) => { if (p !== 0) AP[i]!.forEach((v, J) => { PtAP[I]![J] = PtAP[I]![J]! + p * v; }); });
        let worst = 0, scale = 0;
        for (let I = 0; I < C.n; I++) {
          for (let J = 0; J < C.n; J++) {
            worst = Math.max(worst, Math.abs(PtAP[I]![J]! - Ac[I]![J]!));
            scale = Math.max(scale, Math.abs(PtAP[I]![J]!));
          }
        }
        assert.ok(worst <= 1e-12 * scale, `level ${l + 1}: max |RAP - A_c| = ${worst} (scale ${scale})`);
      }
    });
  });

  for (const [name, a] of [['Poisson 30×30', poisson2d(30, 0)], ['anisotropic Poisson 30×30 (ε = 0.01)', anisotropicPoisson2d(30, 0.01, 0)], ['random symmetric diagonally dominant, n=900', randomDominant(900, 3, 1.05, 5, true)]] as const) {
    it(`given ${name}, when M⁻¹ is applied to two random vectors, then <M⁻¹x, y> = <x, M⁻¹y> and <M⁻¹x, x> > 0 (the V-cycle is SPD, so CG stays valid)`, () => {
      for (const backend of ['wasm', 'reference'] as const) {
        const s = opened(a, backend);
        const x = randomVector(a.n, 1), y = randomVector(a.n, 2);
        const mx = s.applyPreconditioner(x), my = s.applyPreconditioner(y);
        const l = dot(mx, y), r = dot(x, my);
        assert.ok(Math.abs(l - r) <= 1e-12 * Math.max(Math.abs(l), Math.abs(r)), `${backend}: ${l} vs ${r}`);
        assert.ok(dot(mx, x) > 0 && dot(my, y) > 0);
        s.free();
      }
    });
  }

  it('given unshifted and anisotropic Poisson at n = 2500 and 40000, when AMG-PCG solves them, then each converges in at most 20 iterations and the counts stay within 1.5× of each other', () => {
    for (const make of [(m: number) => poisson2d(m, 0), (m: number) => anisotropicPoisson2d(m, 0.01, 0)]) {
      const its = [50, 200].map((m) => {
        const a = make(m);
        const s = opened(a);
        const r = s.iterate(1000);
        assert.equal(r.status, 'converged');
        assert.ok(relativeResidual(a, s.readX(), smoothRhs(a.n)) <= TOL);
        s.free();
        return r.iterations;
      });
      assert.ok(Math.max(...its) <= 20, `iterations ${its}`);
      assert.ok(Math.max(...its) <= 1.5 * Math.min(...its), `iterations ${its}`);
    }
  });

  for (const [name, a, method] of [['Poisson 50×50', poisson2d(50, 0), 'cg'], ['anisotropic Poisson 45×45', anisotropicPoisson2d(45, 0.01, 0), 'cg'], ['random nonsymmetric diagonally dominant, n=2000', randomDominant(2000, 4, 1.1, 9), 'bicgstab']] as const) {
    it(`given ${name}, when ${method}+amg runs on both backends, then the hierarchy, the iterations and x are bit-identical`, () => {
      const out = (['wasm', 'reference'] as const).map((backend) => {
        const s = opened(a, backend, method);
        const r = s.iterate(1000);
        const h = s.amgHierarchy();
        const x = s.readX();
        s.free();
        return { r, h, x };
      });
      const [w, ref] = out as [typeof out[0], typeof out[0]];
      assert.equal(w.r.status, 'converged');
      assert.equal(w.r.iterations, ref.r.iterations);
      assert.ok(bitIdentical(w.x, ref.x), 'x differs');
      assert.equal(w.h.length, ref.h.length);
      w.h.forEach((L, l) => {
        const R = ref.h[l]!;
        assert.deepEqual(L.a.rowPtr, R.a.rowPtr); assert.deepEqual(L.a.colIdx, R.a.colIdx);
        assert.ok(bitIdentical(L.a.values, R.a.values), `level ${l} values differ`);
        if (L.p) { assert.deepEqual(L.agg, R.agg); assert.ok(bitIdentical(L.p.values, R.p!.values), `level ${l} P differs`); }
      });
    });
  }

  describe('given a converged AMG session on Poisson', () => {
    for (const backend of ['wasm', 'reference'] as const) {
      it(`when A's values change (not its pattern), then the next solve rebuilds the values on the kept structure (${backend}), and changing them back restores the first hierarchy bit for bit`, () => {
        const a = poisson2d(40, 0);
        const s = opened(a, backend);
        assert.equal(s.iterate(1000).status, 'converged');
        const first = s.amgHierarchy();
        // Stiffen a symmetric pair of connections and the diagonals that hold them.
        const [i, j] = [410, 411];
        const at = (r: number, c: number) => { for (let k = a.rowPtr[r]!; k < a.rowPtr[r + 1]!; k++) if (a.colIdx[k] === c) return a.values[k]!; return NaN; };
        const change = [{ row: i, col: j, oldValue: at(i, j), newValue: -3 }, { row: j, col: i, oldValue: at(j, i), newValue: -3 },
          { row: i, col: i, oldValue: at(i, i), newValue: 6 }, { row: j, col: j, oldValue: at(j, j), newValue: 6 }];
        assert.ok(s.updateA(change).every((u) => u.outcome === 'applied'));
        const r = s.iterate(1000);
        assert.equal(r.status, 'converged');
        assert.deepEqual(s.amgSetups(), { full: 1, rebuild: 1 });
        const rebuilt = s.amgHierarchy();
        rebuilt.forEach((L, l) => {
          assert.deepEqual(L.a.rowPtr, first[l]!.a.rowPtr); assert.deepEqual(L.a.colIdx, first[l]!.a.colIdx);
          if (L.p) { assert.deepEqual(L.agg, first[l]!.agg); assert.deepEqual(L.p.colIdx, first[l]!.p!.colIdx); }
        });
        assert.ok(!bitIdentical(rebuilt[1]!.a.values, first[1]!.a.values), 'coarse values did not follow A');
        s.updateA(change.map((u) => ({ ...u, oldValue: u.newValue, newValue: u.oldValue })));
        s.iterate(1000);
        s.amgHierarchy().forEach((L, l) => assert.ok(bitIdentical(L.a.values, first[l]!.a.values), `level ${l}`));
        s.free();
      });
    }
  });
});

/** Hybrid to TOL from x = 0: its status, iterations, the step it ended on and the analysis it planned from. */
function hybridSolve(a: Csr): { status: string; iterations: number; current: object; analysis: ReturnType<SolverSession['analyze']> } {
  const s = SolverSession.open(a);
  s.setB(smoothRhs(a.n));
  s.configure({ method: 'hybrid', tol: TOL });
  const r = s.iterate(1000);
  const out = { status: r.status, iterations: r.iterations, current: s.current(), analysis: s.analyze() };
  s.free();
  return out;
}

describe('hybrid and AMG', () => {
  it('given a symmetric M-matrix of at least AMG_MIN_ROWS rows (unshifted Poisson), when hybrid configures, then it plans CG with AMG and converges with it', () => {
    const a = poisson2d(Math.ceil(Math.sqrt(AMG_MIN_ROWS)), 0);
    const s = SolverSession.open(a);
    s.setB(smoothRhs(a.n));
    s.configure({ method: 'hybrid', tol: TOL });
    assert.deepEqual(s.current(), { method: 'cg', precond: 'amg' });
    assert.equal(s.iterate(1000).status, 'converged');
    assert.equal(s.amgSetups().full, 1);
    s.free();
  });

  it('given a strongly diagonally dominant random matrix (dominance ratio above the ILU threshold in its worst row), when hybrid solves it, then its Jacobi probe keeps it off ILU(0)', () => {
    const a = randomDominant(5000, 5, 1.05, 21);
    const s = SolverSession.open(a);
    s.setB(smoothRhs(a.n));
    s.configure({ method: 'hybrid', tol: TOL });
    assert.ok(s.analyze().dominanceRatio > 0.9);
    assert.deepEqual(s.current(), { method: 'bicgstab', precond: 'jacobi', probe: true });
    const r = s.iterate(1000);
    assert.equal(r.status, 'converged');
    assert.deepEqual(s.current(), { method: 'bicgstab', precond: 'jacobi', probe: true });
    s.free();
  });

  it('given a power-law graph Laplacian plus a shift (hub rows: the residual rises before CG contracts), when hybrid solves it, then its probe judges the settled rate, stays on Jacobi and converges in fewer iterations than MILU(0) needs', () => {
    const a = powerLawLaplacian(2000, 3, 0.1, 32);
    const probed = hybridSolve(a);
    assert.deepEqual(probed.current, { method: 'cg', precond: 'jacobi', probe: true });
    assert.equal(probed.status, 'converged');
    const milu = solveWith('wasm', a, smoothRhs(a.n), { method: 'cg', precond: 'milu0', tol: TOL }, 1000);
    assert.equal(milu.status, 'converged');
    assert.ok(probed.iterations < milu.iterations, `jacobi ${probed.iterations} vs milu0 ${milu.iterations}`);
  });

  it('given a nonsymmetric network flow matrix whose rows are not diagonally dominant, when hybrid solves it, then it probes BiCGSTAB with SSOR (split form) before paying for ILU(0), the probe stays, and it needs under half the iterations of BiCGSTAB+Jacobi', () => {
    const a = networkFlow(2000, 3, 0.05, 33);
    const probed = hybridSolve(a);
    assert.equal(probed.analysis.weaklyDiagonallyDominant, false);
    assert.deepEqual(probed.current, { method: 'bicgstab', precond: 'ssor', probe: true });
    assert.equal(probed.status, 'converged');
    const jacobi = solveWith('wasm', a, smoothRhs(a.n), { method: 'bicgstab', precond: 'jacobi', tol: TOL }, 1000);
    assert.equal(jacobi.status, 'converged');
    assert.ok(2 * probed.iterations < jacobi.iterations, `ssor ${probed.iterations} vs jacobi ${jacobi.iterations}`);
  });

  it('given a kept AMG structure, when a solve needs over 1.5× the iterations of the first one on it, then the next AMG start sets up from scratch', () => {
    const a = poisson2d(60, 0);
    const s = opened(a);
    const first = s.iterate(1000);
    assert.equal(first.status, 'converged');
    // Make the x-couplings weak (anisotropy the kept aggregates, built for isotropic coupling, do
    // not follow), keeping the diagonal at the row sum of what stays, and solve for a new b.
    const updates: Array<{ row: number; col: number; oldValue: number; newValue: number }> = [];
    for (let i = 0; i < a.n; i++) {
      let xNeighbours = 0;
      for (let k = a.rowPtr[i]!; k < a.rowPtr[i + 1]!; k++) {
        const j = a.colIdx[k]!;
        if (j === i - 1 || j === i + 1) { updates.push({ row: i, col: j, oldValue: a.values[k]!, newValue: -0.001 }); xNeighbours++; }
      }
      const d = a.rowPtr[i]! + Array.from(a.colIdx.subarray(a.rowPtr[i]!, a.rowPtr[i + 1]!)).indexOf(i);
      updates.push({ row: i, col: i, oldValue: a.values[d]!, newValue: a.values[d]! - 0.999 * xNeighbours });
    }
    assert.ok(s.updateA(updates).every((u) => u.outcome === 'applied'));
    s.setB(randomVector(a.n, 3));
    const drifted = s.iterate(1000);
    assert.equal(drifted.status, 'converged');
    assert.deepEqual(s.amgSetups(), { full: 1, rebuild: 1 });
    assert.ok(drifted.iterations > 1.5 * first.iterations, `${drifted.iterations} vs first ${first.iterations}: the update did not make the kept structure drift`);
    s.setB(randomVector(a.n, 4));
    const fresh = s.iterate(1000);
    assert.equal(fresh.status, 'converged');
    assert.deepEqual(s.amgSetups(), { full: 2, rebuild: 1 });
    assert.ok(fresh.iterations < drifted.iterations, `after the full setup ${fresh.iterations} vs ${drifted.iterations}`);
    s.free();
  });
});
