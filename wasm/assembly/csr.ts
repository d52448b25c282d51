// Pure CSR kernels over raw pointers. Every sum runs in index order, so results are
// bit-identical to the plain TypeScript reference (wasm/src/reference), which does the same.
import { ldf, stf, ldi, sti } from './memory';

/**
 * Σ va[k]·x[ci[k]] over one row, its entries from pc (into ci) and pv (into va) up to pe, summed
 * in index order from 0. Every CSR loop here sums its rows through this, so all of them round
 * alike. A row of five (the five-point stencil's interior) is unrolled: constant load offsets and
 * no loop branch per entry (1.6 → 1.1 cycles per nonzero in cache at n=1e4; bench/solver).
 */
@inline export function rowDot(pv: usize, pc: usize, pe: usize, x: usize): f64 {
  if (pe - pc == 20) return dot5(pv, pc, x);
  let s: f64 = 0;
  for (; pc < pe; pc += 4, pv += 8) s += load<f64>(pv) * load<f64>(x + ((<usize>load<i32>(pc)) << 3));
  return s;
}

/** rowDot of a row of five at pv / pc: the same sum in the same order. */
@inline function dot5(pv: usize, pc: usize, x: usize): f64 {
  let s: f64 = 0;
  s += load<f64>(pv) * load<f64>(x + ((<usize>load<i32>(pc)) << 3));
  s += load<f64>(pv, 8) * load<f64>(x + ((<usize>load<i32>(pc, 4)) << 3));
  s += load<f64>(pv, 16) * load<f64>(x + ((<usize>load<i32>(pc, 8)) << 3));
  s += load<f64>(pv, 24) * load<f64>(x + ((<usize>load<i32>(pc, 12)) << 3));
  s += load<f64>(pv, 32) * load<f64>(x + ((<usize>load<i32>(pc, 16)) << 3));
  return s;
}

// From this many rows on, the SpMVs walk the two halves of A together: two streams each of A's
// values, columns and y instead of one keep more memory reads in flight (n=1e6: 6.8 -> 5.4 ms per
// SpMV, on par at n=1e5; at n=1e4, all in cache, the second cursor costs 22 -> 24 µs).
const SPLIT_ROWS: i32 = 1 << 16;

/**
 * Stores row i's result s at byte offset o (= 8 i) of y and returns the running sum: with b ≠ 0,
 * y_i = b_i - s and dot + y_i²; else y_i = s and dot + p_i s (p = 0: dot unchanged). withDot
 * false (a constant at every call) skips the sum for rows whose terms are added later.
 */
@inline function finish(s: f64, o: usize, y: usize, p: usize, b: usize, dot: f64, withDot: bool): f64 {
  if (b != 0) {
    const ri = load<f64>(b + o) - s;
    store<f64>(y + o, ri);
    return withDot ? dot + ri * ri : dot;
  }
  store<f64>(y + o, s);
  return withDot && p != 0 ? dot + load<f64>(p + o) * s : dot;
}

/** Whether the four rows whose rowPtr entries start at pr have five entries each. */
@inline function fives(pr: usize): bool {
  return i32x4.all_true(i32x4.eq(i32x4.sub(v128.load(pr, 4), v128.load(pr)), i32x4.splat(5)));
}

/**
 * Four rows from pc (their rowPtr entries at pr, results at byte offset o) through finish();
 * returns the column cursor after them, the running sum in `blockDot`. Four rows of five (the
 * stencil's interior) take one check and constant offsets from one cursor, with no per-row
 * rowPtr load or branch: fewer instructions per row, so that at n=1e6 more of the memory reads
 * overlap (bench/solver --only spmv). Each row is still summed by dot5/rowDot, so every result
 * and the row order of the sum are those of rowDot row by row.
 */
let blockDot: f64 = 0;
@inline function block4(pr: usize, pc: usize, o: usize, ci: usize, va: usize, x: usize, y: usize, p: usize, b: usize, dot: f64, withDot: bool): usize {
  let pv = va + ((pc - ci) << 1);
  if (fives(pr)) {
    dot = finish(dot5(pv, pc, x), o, y, p, b, dot, withDot);
    dot = finish(dot5(pv + 40, pc + 20, x), o + 8, y, p, b, dot, withDot);
    dot = finish(dot5(pv + 80, pc + 40, x), o + 16, y, p, b, dot, withDot);
    dot = finish(dot5(pv + 120, pc + 60, x), o + 24, y, p, b, dot, withDot);
    blockDot = dot;
    return pc + 80;
  }
  for (let j: usize = 0; j < 16; j += 4) {
    const pe = ci + ((<usize>load<i32>(pr + j, 4)) << 2);
    dot = finish(rowDot(pv, pc, pe, x), o + (j << 1), y, p, b, dot, withDot);
    pv += (pe - pc) << 1; pc = pe;
  }
  blockDot = dot;
  return pc;
}

/**
 * y_i = (A x)_i for rows [i0, i1); returns dot + Σ p_i y_i over them in row order (p = 0: none).
 * With b ≠ 0, y_i = b_i - (A x)_i instead and the sum is Σ y_i² (the residual).
 */
@inline function rows(i0: i32, i1: i32, rp: usize, ci: usize, va: usize, x: usize, y: usize, p: usize, b: usize, dot: f64): f64 {
  let pr = rp + ((<usize>i0) << 2);
  let pc = ci + ((<usize>load<i32>(pr)) << 2);
  let o = (<usize>i0) << 3;
  const oBlocks = o + ((<usize>((i1 - i0) >> 2)) << 5), oEnd = (<usize>i1) << 3;
  for (; o < oBlocks; o += 32, pr += 16) {
    pc = block4(pr, pc, o, ci, va, x, y, p, b, dot, true);
    dot = blockDot;
  }
  for (; o < oEnd; o += 8, pr += 4) {
    const pe = ci + ((<usize>load<i32>(pr, 4)) << 2);
    dot = finish(rowDot(va + ((pc - ci) << 1), pc, pe, x), o, y, p, b, dot, true);
    pc = pe;
  }
  return dot;
}

/**
 * rows() over [i0, i0 + 4 nb) and, four rows of each per step, [j0, j0 + 4 nb) (no sum for the
 * second range): two streams each of A and y in flight instead of one.
 */
@inline function blockPairs(i0: i32, j0: i32, nb: i32, rp: usize, ci: usize, va: usize, x: usize, y: usize, p: usize, b: usize, dot: f64): f64 {
  let pra = rp + ((<usize>i0) << 2), prb = rp + ((<usize>j0) << 2);
  let pca = ci + ((<usize>load<i32>(pra)) << 2), pcb = ci + ((<usize>load<i32>(prb)) << 2);
  const d = (<usize>(j0 - i0)) << 3; // from a row of the first range to its partner's y
  let o = (<usize>i0) << 3;
  const oEnd = o + ((<usize>nb) << 5);
  for (; o < oEnd; o += 32, pra += 16, prb += 16) {
    pca = block4(pra, pca, o, ci, va, x, y, p, b, dot, true);
    dot = blockDot;
    pcb = block4(prb, pcb, o + d, ci, va, x, y, p, b, 0, false);
  }
  return dot;
}

/**
 * rows(0, n) for n ≥ SPLIT_ROWS, the two halves [0, h) and [h, n) walked together (h = n - n/2:
 * the first may have one row more); the sum covers the first half only, so the callers add the
 * second half's terms after it, in row order.
 */
@inline function halves(n: i32, rp: usize, ci: usize, va: usize, x: usize, y: usize, p: usize, b: usize): f64 {
  const c = n >> 1, h = n - c, q = (c >> 2) << 2; // q rows of each half go in pairs of blocks
  const dot = rows(q, h, rp, ci, va, x, y, p, b, blockPairs(0, h, c >> 2, rp, ci, va, x, y, p, b, 0));
  rows(h + q, n, rp, ci, va, x, y, 0, b, 0);
  return dot;
}

/** y = A x. */
export function spmv(n: i32, rp: usize, ci: usize, va: usize, x: usize, y: usize): void {
  if (n < SPLIT_ROWS) rows(0, n, rp, ci, va, x, y, 0, 0, 0); else halves(n, rp, ci, va, x, y, 0, 0);
}

/** y = A x; returns p·y, summed in row order (the dot CG needs) so the caller saves a pass. */
export function spmvDot(n: i32, rp: usize, ci: usize, va: usize, x: usize, y: usize, p: usize): f64 {
  if (n < SPLIT_ROWS) return rows(0, n, rp, ci, va, x, y, p, 0, 0);
  let dot = halves(n, rp, ci, va, x, y, p, 0);
  for (let i = n - (n >> 1); i < n; i++) dot += ldf(p, i) * ldf(y, i);
  return dot;
}

/** r = b - A x; returns ||r||², summed in row order. */
export function residual(n: i32, rp: usize, ci: usize, va: usize, x: usize, b: usize, r: usize): f64 {
  if (n < SPLIT_ROWS) return rows(0, n, rp, ci, va, x, r, 0, b, 0);
  let rr = halves(n, rp, ci, va, x, r, 0, b);
  for (let i = n - (n >> 1); i < n; i++) { const ri = ldf(r, i); rr += ri * ri; }
  return rr;
}

/** Residual b_i - (Ax)_i for the listed rows only (verification probes); returns max |r_i|. */
export function residualRows(count: i32, rows: usize, out: usize, rp: usize, ci: usize, va: usize, x: usize, b: usize): f64 {
  let worst: f64 = 0;
  for (let q = 0; q < count; q++) {
    const i = ldi(rows, q);
    const k = ldi(rp, i);
    const s = rowDot(va + ((<usize>k) << 3), ci + ((<usize>k) << 2), ci + ((<usize>ldi(rp, i + 1)) << 2), x);
    const ri = ldf(b, i) - s;
    stf(out, q, ri);
    const a = Math.abs(ri);
    if (a > worst) worst = a;
  }
  return worst;
}

// Row statistics of A, left by validate() and rowStats(): statsRho = max_i Σ_{j≠i}|a_ij| / |a_ii|
// (Infinity when a diagonal is zero or missing), statsFlags 2 (every a_ii > 0) | 16 (no positive
// off-diagonal entry). They are the row-local half of the kernel's analyze().
export let statsRho: f64 = 0;
export let statsFlags: i32 = 0;

/** Row i's dominance ratio Σ_{j≠i}|a_ij| / |a_ii| from its diagonal value d (0 when absent). */
@inline function rowRatio(d: f64, off: f64): f64 {
  return d == 0 ? Infinity : off / Math.abs(d);
}

/**
 * Checks the CSR structure and fills diagPos (index of a_ii in its row, -1 if absent).
 * Returns 0, or a negative code: -1 bad rowPtr, -2 column out of range or unsorted/duplicate,
 * -3 non-finite value. `badRow` receives the offending row. On success statsRho and statsFlags
 * hold A's row statistics: gathered by this pass, which reads every entry anyway, they spare
 * hybrid's analysis a pass of its own (on an irregular matrix a pass over the rows costs about a
 * mispredicted branch per row: bench/solver's network flow).
 */
export function validate(n: i32, nnz: i32, rp: usize, ci: usize, va: usize, diagPos: usize, badRow: usize): i32 {
  if (ldi(rp, 0) != 0 || ldi(rp, n) != nnz) { sti(badRow, 0, 0); return -1; }
  let worst: f64 = 0;
  let positiveDiagonal = true, positiveOff = false;
  for (let i = 0; i < n; i++) {
    const start = ldi(rp, i);
    const end = ldi(rp, i + 1);
    if (end < start) { sti(badRow, 0, i); return -1; }
    let prev = -1;
    let d = -1;
    let off: f64 = 0;
    for (let k = start; k < end; k++) {
      const j = ldi(ci, k);
      if (j <= prev || j >= n) { sti(badRow, 0, i); return -2; }
      const v = ldf(va, k);
      if (!isFinite(v)) { sti(badRow, 0, i); return -3; }
      const offDiagonal = j != i;
      if (!offDiagonal) d = k;
      // |v| or, on the diagonal, +0 (v is finite), without a branch: where the diagonal sits
      // varies from row to row, so a branch would be mispredicted about once a row. Adding +0
      // leaves a sum of magnitudes (never -0) bit for bit unchanged.
      off += Math.abs(v) * <f64>(<i32>offDiagonal);
      positiveOff |= offDiagonal & (v > 0);
      prev = j;
    }
    sti(diagPos, i, d);
    const dv: f64 = d >= 0 ? ldf(va, d) : 0;
    if (!(dv > 0)) positiveDiagonal = false;
    const ratio = rowRatio(dv, off);
    if (ratio > worst) worst = ratio;
  }
  statsRho = worst;
  statsFlags = (positiveDiagonal ? 2 : 0) | (positiveOff ? 0 : 16);
  return 0;
}

/** The row statistics of validate() again, for A's current values (after updateA). */
export function rowStats(n: i32, rp: usize, va: usize, diagPos: usize): void {
  let worst: f64 = 0;
  let positiveDiagonal = true, positiveOff = false;
  for (let i = 0; i < n; i++) {
    const d = ldi(diagPos, i);
    const end = ldi(rp, i + 1);
    let off: f64 = 0;
    for (let k = ldi(rp, i); k < end; k++) {
      if (k == d) continue;
      const v = ldf(va, k);
      off += Math.abs(v);
      if (v > 0) positiveOff = true;
    }
    const dv: f64 = d >= 0 ? ldf(va, d) : 0;
    if (!(dv > 0)) positiveDiagonal = false;
    const ratio = rowRatio(dv, off);
    if (ratio > worst) worst = ratio;
  }
  statsRho = worst;
  statsFlags = (positiveDiagonal ? 2 : 0) | (positiveOff ? 0 : 16);
}

/** dinv_i = 1 / a_ii (0 where the diagonal is missing or zero); returns the count of such rows. */
export function diagInverse(n: i32, va: usize, diagPos: usize, dinv: usize): i32 {
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const d = ldi(diagPos, i);
    const a: f64 = d < 0 ? 0 : ldf(va, d);
    if (a == 0) { stf(dinv, i, 0); bad++; } else stf(dinv, i, 1.0 / a);
  }
  return bad;
}

/** Position of (i, j) in the sorted row i, or -1. */
export function find(rp: usize, ci: usize, i: i32, j: i32): i32 {
  let lo = ldi(rp, i);
  let hi = ldi(rp, i + 1) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = ldi(ci, mid);
    if (c == j) return mid;
    if (c < j) lo = mid + 1; else hi = mid - 1;
  }
  return -1;
}
