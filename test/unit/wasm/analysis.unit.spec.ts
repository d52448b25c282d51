// analyze(): symmetry by merging rows, dominance and sign flags, the same on both backends.
import { strict as assert } from 'node:assert';
import { SolverSession, csrFromCoo, type Backend } from '../../../wasm/index';
import { convectionDiffusion2d, networkFlow, poisson2d, randomDominant, weaklyDominant2d } from '../../../wasm/src/problems';
import type { Csr } from '../../../wasm/src/types';
import { ReferenceKernel } from '../../../wasm/src/reference';
import { WasmKernel } from '../../../wasm/src/wasm-kernel';

function analysis(a: Csr, backend: Backend): ReturnType<SolverSession['analyze']> {
  const s = SolverSession.open(a, backend);
  try { return s.analyze(); } finally { s.free(); }
}

const coo = (n: number, e: Array<[number, number, number]>): Csr => csrFromCoo(n, e.map((t) => t[0]), e.map((t) => t[1]), e.map((t) => t[2]));

describe('solver sessions: matrix analysis', () => {
  const cases: Array<{ name: string; a: Csr; symmetric: boolean; mMatrix: boolean }> = [
    { name: 'shifted Poisson', a: poisson2d(7), symmetric: true, mMatrix: true },
    { name: 'convection-diffusion', a: convectionDiffusion2d(7), symmetric: false, mMatrix: true },
    { name: 'weakly dominant grid', a: weaklyDominant2d(6), symmetric: true, mMatrix: true },
    { name: 'random symmetric', a: randomDominant(60, 3, 1.2, 5, true), symmetric: true, mMatrix: false },
    { name: 'random nonsymmetric', a: randomDominant(60, 3, 1.2, 5), symmetric: false, mMatrix: false },
    { name: 'one-sided entry', a: coo(3, [[0, 0, 2], [1, 1, 2], [2, 2, 2], [2, 0, -1]]), symmetric: false, mMatrix: true },
    { name: 'explicit zero without a partner', a: coo(3, [[0, 0, 2], [1, 1, 2], [2, 2, 2], [0, 2, 0], [2, 1, -1], [1, 2, -1]]), symmetric: true, mMatrix: true },
    { name: 'values differ across the diagonal', a: coo(3, [[0, 0, 2], [1, 1, 2], [2, 2, 2], [0, 1, -1], [1, 0, -0.5]]), symmetric: false, mMatrix: true },
  ];
  for (const c of cases) {
    it(`given ${c.name}, when analysed on both backends, then symmetry and sign flags are right and agree`, () => {
      const w = analysis(c.a, 'wasm');
      const r = analysis(c.a, 'reference');
      assert.deepEqual(w, r);
      assert.equal(w.symmetric, c.symmetric);
      assert.equal(w.offDiagonalNonPositive, c.mMatrix);
    });
  }

  it('given an analysed M-matrix, when updateA changes a diagonal and an off-diagonal entry, then the next analysis describes the new values on both backends', () => {
    // The kernel gathers the row statistics while it validates A; a change of A's values must
    // not leave hybrid planning from the old ones.
    const a = poisson2d(7);
    const row = 10, start = a.rowPtr[row]!, end = a.rowPtr[row + 1]!;
    let diag = -1, off = -1;
    for (let k = start; k < end; k++) if (a.colIdx[k] === row) diag = k; else if (off < 0) off = k;
    const updates = [
      { row, col: row, oldValue: a.values[diag]!, newValue: -a.values[diag]! },
      { row, col: a.colIdx[off]!, oldValue: a.values[off]!, newValue: 3 * Math.abs(a.values[diag]!) },
    ];
    const after: Array<ReturnType<SolverSession['analyze']>> = [];
    for (const backend of ['wasm', 'reference'] as const) {
      const s = SolverSession.open(a, backend);
      const before = s.analyze();
      assert.equal(before.offDiagonalNonPositive && before.positiveDiagonal && before.weaklyDiagonallyDominant, true);
      assert.deepEqual(s.updateA(updates).map((r) => r.outcome), ['applied', 'applied']);
      after.push(s.analyze());
      s.free();
    }
    const [w, r] = after;
    assert.deepEqual(w, r);
    assert.equal(w!.offDiagonalNonPositive, false);
    assert.equal(w!.positiveDiagonal, false);
    assert.equal(w!.weaklyDiagonallyDominant, false);
    assert.equal(w!.symmetric, false);
    assert.ok(w!.dominanceRatio > 1);
  });

  it('given rows of different lengths (one of them empty of off-diagonals), when asked for the longest row, then both kernels count the entries of the longest one', () => {
    // hybrid reads it (AMG only for rows of at most AMG_MAX_ROW entries) from the kernel.
    for (const a of [coo(4, [[0, 0, 1], [1, 0, -1], [1, 1, 3], [1, 2, -1], [1, 3, -1], [2, 2, 1], [3, 3, 2]]), networkFlow(500, 3, 0.05, 4)]) {
      let want = 0;
      for (let i = 0; i < a.n; i++) want = Math.max(want, a.rowPtr[i + 1]! - a.rowPtr[i]!);
      const w = new WasmKernel(a.n, a.values.length), r = new ReferenceKernel(a.n, a.values.length);
      assert.equal(w.load(a), 0);
      assert.equal(r.load(a), 0);
      assert.equal(w.maxRowNnz(), want);
      assert.equal(r.maxRowNnz(), want);
      w.free();
    }
  });
});
