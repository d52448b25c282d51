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
  let s: f64 = 0;
  if (pe - pc == 20) {
    s += load<f64>(pv) * load<f64>(x + ((<usize>load<i32>(pc)) << 3));
    s += load<f64>(pv, 8) * load<f64>(x + ((<usize>load<i32>(pc, 4)) << 3));
    s += load<f64>(pv, 16) * load<f64>(x + ((<usize>load<i32>(pc, 8)) << 3));
    s += load<f64>(pv, 24) * load<f64>(x + ((<usize>load<i32>(pc, 12)) << 3));
    s += load<f64>(pv, 32) * load<f64>(x + ((<usize>load<i32>(pc, 16)) << 3));
  } else {
    for (; pc < pe; pc += 4, pv += 8) s += load<f64>(pv) * load<f64>(x + ((<usize>load<i32>(pc)) << 3));
  }
  return s;
}


// From this many rows on, the SpMVs walk the two halves of A together: two streams each of A's
// values, columns and y instead of one keep more memory reads in flight (n=1e6: 6.8 -> 5.4 ms per
// SpMV, on par at n=1e5; at n=1e4, all in cache, the second cursor costs 22 -> 24 µs).
const SPLIT_ROWS: i32 = 1 << 16;

/**
 * y_i = (A x)_i for rows [i0, i1); returns dot + Σ p_i y_i over them in row order (p = 0: none).
 * With b ≠ 0, y_i = b_i - (A x)_i instead and the sum is Σ y_i² (the residual).
 */
@inline function rows(i0: i32, i1: i32, rp: usize, ci: usize, va: usize, x: usize, y: usize, p: usize, b: usize, dot: f64): f64 {
  const k = <usize>ldi(rp, i0);
  let pc = ci + (k << 2), pv = va + (k << 3), pr = rp + ((<usize>i0) << 2) + 4;
  let pp = p + ((<usize>i0) << 3), pb = b + ((<usize>i0) << 3);
  const pyEnd = y + ((<usize>i1) << 3);
  for (let py = y + ((<usize>i0) << 3); py < pyEnd; py += 8, pr += 4) {
    const pe = ci + ((<usize>load<i32>(pr)) << 2);
    const s = rowDot(pv, pc, pe, x);
    pv += (pe - pc) << 1; pc = pe;
    if (b != 0) {
      const ri = load<f64>(pb) - s;
      store<f64>(py, ri);
      dot += ri * ri;
      pb += 8;
    } else {
      store<f64>(py, s);
      if (p != 0) { dot += load<f64>(pp) * s; pp += 8; }
    }
  }
  return dot;
}

/**
 * rows() over [i0, i0 + count) and, one row of each per step, [j0, j0 + count) (no dot for the
 * second range): two streams each of A and y in flight instead of one.
 */
@inline function rowPairs(i0: i32, j0: i32, count: i32, rp: usize, ci: usize, va: usize, x: usize, y: usize, p: usize, b: usize, dot: f64): f64 {
  const ka = <usize>ldi(rp, i0), kb = <usize>ldi(rp, j0);
  let pca = ci + (ka << 2), pva = va + (ka << 3), pra = rp + ((<usize>i0) << 2) + 4;
  let pcb = ci + (kb << 2), pvb = va + (kb << 3), prb = rp + ((<usize>j0) << 2) + 4;
  let pp = p + ((<usize>i0) << 3), pb = b + ((<usize>i0) << 3);
  const d = (<usize>(j0 - i0)) << 3; // from a row of the first range to its partner's y
  const pyEnd = y + ((<usize>(i0 + count)) << 3);
  for (let py = y + ((<usize>i0) << 3); py < pyEnd; py += 8, pra += 4, prb += 4) {
    const pe = ci + ((<usize>load<i32>(pra)) << 2);
    const s = rowDot(pva, pca, pe, x);
    pva += (pe - pca) << 1; pca = pe;
    const peb = ci + ((<usize>load<i32>(prb)) << 2);
    const sb = rowDot(pvb, pcb, peb, x);
    pvb += (peb - pcb) << 1; pcb = peb;
    if (b != 0) {
      const ri = load<f64>(pb) - s;
      store<f64>(py, ri);
      dot += ri * ri;
      store<f64>(py + d, load<f64>(pb + d) - sb);
      pb += 8;
    } else {
      store<f64>(py, s);
      if (p != 0) { dot += load<f64>(pp) * s; pp += 8; }
      store<f64>(py + d, sb);
    }
  }
  return dot;
}

/** y = A x. */
export function spmv(n: i32, rp: usize, ci: usize, va: usize, x: usize, y: usize): void {
  if (n < SPLIT_ROWS) { rows(0, n, rp, ci, va, x, y, 0, 0, 0); return; }
  const c = n >> 1, h = n - c; // halves [0, h) and [h, n); the first may have one row more
  rowPairs(0, h, c, rp, ci, va, x, y, 0, 0, 0);
  rows(c, h, rp, ci, va, x, y, 0, 0, 0);
}

/** y = A x; returns p·y, summed in row order (the dot CG needs) so the caller saves a pass. */
export function spmvDot(n: i32, rp: usize, ci: usize, va: usize, x: usize, y: usize, p: usize): f64 {
  if (n < SPLIT_ROWS) return rows(0, n, rp, ci, va, x, y, p, 0, 0);
  const c = n >> 1, h = n - c;
  let dot = rowPairs(0, h, c, rp, ci, va, x, y, p, 0, 0);
  dot = rows(c, h, rp, ci, va, x, y, p, 0, dot);
  // The second half's terms come after the first half's in the sum: added from y afterwards.
  for (let i = h; i < n; i++) dot += ldf(p, i) * ldf(y, i);
  return dot;
}

/** r = b - A x; returns ||r||², summed in row order. */
export function residual(n: i32, rp: usize, ci: usize, va: usize, x: usize, b: usize, r: usize): f64 {
  if (n < SPLIT_ROWS) return rows(0, n, rp, ci, va, x, r, 0, b, 0);
  const c = n >> 1, h = n - c;
  let rr = rowPairs(0, h, c, rp, ci, va, x, r, 0, b, 0);
  rr = rows(c, h, rp, ci, va, x, r, 0, b, rr);
  for (let i = h; i < n; i++) { const ri = ldf(r, i); rr += ri * ri; }
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

/**
 * Checks the CSR structure and fills diagPos (index of a_ii in its row, -1 if absent).
 * Returns 0, or a negative code: -1 bad rowPtr, -2 column out of range or unsorted/duplicate,
 * -3 non-finite value. `badRow` receives the offending row.
 */
export function validate(n: i32, nnz: i32, rp: usize, ci: usize, va: usize, diagPos: usize, badRow: usize): i32 {
  if (ldi(rp, 0) != 0 || ldi(rp, n) != nnz) { sti(badRow, 0, 0); return -1; }
  for (let i = 0; i < n; i++) {
    const start = ldi(rp, i);
    const end = ldi(rp, i + 1);
    if (end < start) { sti(badRow, 0, i); return -1; }
    let prev = -1;
    let d = -1;
    for (let k = start; k < end; k++) {
      const j = ldi(ci, k);
      if (j <= prev || j >= n) { sti(badRow, 0, i); return -2; }
      const v = ldf(va, k);
      if (!isFinite(v)) { sti(badRow, 0, i); return -3; }
      if (j == i) d = k;
      prev = j;
    }
    sti(diagPos, i, d);
  }
  return 0;
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
