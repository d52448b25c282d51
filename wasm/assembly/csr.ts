// Pure CSR kernels over raw pointers. Every sum runs in index order, so results are
// bit-identical to the plain TypeScript reference (wasm/src/reference), which does the same.
import { ldf, stf, ldi, sti } from './memory';

/** y = A x; returns p·y (the dot CG needs) so the caller saves a pass. Pass p = 0 to skip. */
export function spmvDot(n: i32, rp: usize, ci: usize, va: usize, x: usize, y: usize, p: usize): f64 {
  let dot: f64 = 0;
  let k = ldi(rp, 0);
  for (let i = 0; i < n; i++) {
    const end = ldi(rp, i + 1);
    let s: f64 = 0;
    for (; k < end; k++) s += ldf(va, k) * ldf(x, ldi(ci, k));
    stf(y, i, s);
    if (p != 0) dot += ldf(p, i) * s;
  }
  return dot;
}

/** r = b - A x; returns ||r||². */
export function residual(n: i32, rp: usize, ci: usize, va: usize, x: usize, b: usize, r: usize): f64 {
  let rr: f64 = 0;
  let k = ldi(rp, 0);
  for (let i = 0; i < n; i++) {
    const end = ldi(rp, i + 1);
    let s: f64 = 0;
    for (; k < end; k++) s += ldf(va, k) * ldf(x, ldi(ci, k));
    const ri = ldf(b, i) - s;
    stf(r, i, ri);
    rr += ri * ri;
  }
  return rr;
}

/** Residual b_i - (Ax)_i for the listed rows only (verification probes); returns max |r_i|. */
export function residualRows(count: i32, rows: usize, out: usize, rp: usize, ci: usize, va: usize, x: usize, b: usize): f64 {
  let worst: f64 = 0;
  for (let q = 0; q < count; q++) {
    const i = ldi(rows, q);
    let s: f64 = 0;
    const end = ldi(rp, i + 1);
    for (let k = ldi(rp, i); k < end; k++) s += ldf(va, k) * ldf(x, ldi(ci, k));
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
