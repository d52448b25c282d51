// Preconditioners z = M⁻¹ r. Sparse triangular sweeps run row by row in index order.
import { ldf, stf, ldi, sti, ldh, sth } from './memory';

/**
 * The split layout of A's pattern for the ILU(0) factors: L (strict lower) and U (strict upper)
 * in rows of their own, so each triangular sweep streams only its half. Fixed per pattern.
 */
export function iluPattern(n: i32, rp: usize, ci: usize, diagPos: usize, lp: usize, lc: usize, up: usize, uc: usize): void {
  let nl = 0, nu = 0;
  for (let i = 0; i < n; i++) {
    sti(lp, i, nl); sti(up, i, nu);
    const di = ldi(diagPos, i);
    const end = ldi(rp, i + 1);
    for (let k = ldi(rp, i); k < end; k++) {
      const j = ldi(ci, k);
      if (j < i) { sti(lc, nl, j); nl++; } else if (k != di) { sti(uc, nu, j); nu++; }
    }
  }
  sti(lp, n, nl); sti(up, n, nu);
}

/**
 * ILU(0) on A's own sparsity pattern (IKJ order), into the split layout: L with a unit diagonal
 * (not stored), U' = D⁻¹U (each row scaled by its reciprocal pivot, kept in udinv), so the
 * backward sweep ends on a subtraction. L and U' values are stored in single precision (every
 * store rounds, here and in the reference): the sweeps stream half the bytes, the pivots stay in
 * double, and symmetric A still gives a symmetric M (a_ij and a_ji round alike), so CG's
 * iteration counts are unchanged (bench/solver). relax > 0 gives relaxed modified ILU: relax × the fill
 * dropped from row i is subtracted from its pivot, so LU keeps A's row sums (relax = 1), which
 * takes the smooth near-null modes of Laplacian-like matrices out of the preconditioned
 * spectrum. Returns -1 on success or the row whose pivot is missing, zero or not finite.
 */
export function ilu0Factor(n: i32, rp: usize, ci: usize, va: usize, diagPos: usize, relax: f64,
  lp: usize, lc: usize, lv: usize, up: usize, uc: usize, uv: usize, udinv: usize): i32 {
  for (let i = 0; i < n; i++) {
    const di = ldi(diagPos, i);
    if (di < 0) return i;
    const lb = ldi(lp, i), le = ldi(lp, i + 1), ub = ldi(up, i), ue = ldi(up, i + 1);
    const rs = ldi(rp, i);
    for (let k = lb; k < le; k++) sth(lv, k, ldf(va, rs + (k - lb)));
    for (let k = ub; k < ue; k++) sth(uv, k, ldf(va, di + 1 + (k - ub)));
    let diag = ldf(va, di);
    let drop: f64 = 0;
    for (let k = lb; k < le; k++) {
      const j = ldi(lc, k);
      const wk = ldh(lv, k);
      sth(lv, k, wk * ldf(udinv, j));
      // Row i minus wk × (row j of U'), restricted to row i's pattern: a sorted merge.
      let a = k + 1, q = ub;
      const mEnd = ldi(up, j + 1);
      for (let m = ldi(up, j); m < mEnd; m++) {
        const c = ldi(uc, m);
        const t = wk * ldh(uv, m);
        if (c < i) {
          while (a < le && ldi(lc, a) < c) a++;
          if (a < le && ldi(lc, a) == c) { sth(lv, a, ldh(lv, a) - t); a++; } else drop += t;
        } else if (c == i) {
          diag -= t;
        } else {
          while (q < ue && ldi(uc, q) < c) q++;
          if (q < ue && ldi(uc, q) == c) { sth(uv, q, ldh(uv, q) - t); q++; } else drop += t;
        }
      }
    }
    if (relax != 0) diag -= relax * drop;
    if (diag == 0 || !isFinite(diag)) return i;
    const d = 1.0 / diag;
    stf(udinv, i, d);
    for (let k = ub; k < ue; k++) sth(uv, k, ldh(uv, k) * d);
  }
  return -1;
}

/**
 * z = (LU)⁻¹ r on the split factors; returns r·z, summed from the last row up. Each row's
 * nearest unknown (the one just computed) is subtracted last, to keep the sweep's serial
 * dependency chain short.
 */
export function iluSolve(n: i32, lp: usize, lc: usize, lv: usize, up: usize, uc: usize, uv: usize, udinv: usize, r: usize, z: usize): f64 {
  iluForward(n, lp, lc, lv, r, z);
  return iluBackward(n, up, uc, uv, udinv, r, z);
}

/**
 * One row of the forward ILU sweep: s - Σ_k L[k] z[col k] over the row's entries start..end-1.
 * The subdiagonal entry (column i-1, last in a sorted row) takes z[i-1] from the caller's
 * register instead of reloading what was just stored: no store-to-load on the sweep's chain.
 */
@inline function forwardRow(s: f64, i: i32, start: i32, end: i32, lc: usize, lv: usize, z: usize, zPrev: f64): f64 {
  let k = start;
  if (end > k && ldi(lc, end - 1) == i - 1) {
    const last = end - 1;
    for (; k < last; k++) s -= ldh(lv, k) * ldf(z, ldi(lc, k));
    return s - ldh(lv, last) * zPrev;
  }
  for (; k < end; k++) s -= ldh(lv, k) * ldf(z, ldi(lc, k));
  return s;
}

/** The forward half of iluSolve: z = L⁻¹ r. */
export function iluForward(n: i32, lp: usize, lc: usize, lv: usize, r: usize, z: usize): void {
  let k = ldi(lp, 0);
  let zPrev: f64 = 0;
  for (let i = 0; i < n; i++) {
    const end = ldi(lp, i + 1);
    const s = forwardRow(ldf(r, i), i, k, end, lc, lv, z, zPrev);
    k = end;
    stf(z, i, s);
    zPrev = s;
  }
}

/** The backward half of iluSolve: z = U'⁻¹ (D⁻¹ z) in place; returns r·z from the last row up. */
export function iluBackward(n: i32, up: usize, uc: usize, uv: usize, udinv: usize, r: usize, z: usize): f64 {
  let dot: f64 = 0;
  let k = ldi(up, n) - 1;
  let zNext: f64 = 0;
  for (let i = n - 1; i >= 0; i--) {
    const start = ldi(up, i);
    let s = ldf(udinv, i) * ldf(z, i);
    if (k >= start && ldi(uc, start) == i + 1) {
      for (; k > start; k--) s -= ldh(uv, k) * ldf(z, ldi(uc, k));
      s -= ldh(uv, start) * zNext;
      k = start - 1;
    } else {
      for (; k >= start; k--) s -= ldh(uv, k) * ldf(z, ldi(uc, k));
    }
    stf(z, i, s);
    zNext = s;
    dot += ldf(r, i) * s;
  }
  return dot;
}

/**
 * CG's update x += a p, r -= a q (returns ||r||²) fused with the forward ILU sweep z = L⁻¹ r:
 * one pass instead of two, same arithmetic.
 */
export function cgUpdateForward(n: i32, a: f64, x: usize, p: usize, r: usize, q: usize, lp: usize, lc: usize, lv: usize, z: usize): f64 {
  let rr: f64 = 0;
  let k = ldi(lp, 0);
  let zPrev: f64 = 0;
  for (let i = 0; i < n; i++) {
    stf(x, i, ldf(x, i) + a * ldf(p, i));
    const ri = ldf(r, i) - a * ldf(q, i);
    stf(r, i, ri);
    rr += ri * ri;
    const end = ldi(lp, i + 1);
    const s = forwardRow(ri, i, k, end, lc, lv, z, zPrev);
    k = end;
    stf(z, i, s);
    zPrev = s;
  }
  return rr;
}

/**
 * SSOR(ω): M = (D + ωL) D⁻¹ (D + ωU) / (ω(2-ω)). Forward sweep y = (D+ωL)⁻¹ ω(2-ω) r, then
 * backward z = (D+ωU)⁻¹ D y, both in place in z.
 */
export function ssorApply(n: i32, rp: usize, ci: usize, va: usize, diagPos: usize, dinv: usize, omega: f64, r: usize, z: usize): void {
  const scale = omega * (2.0 - omega);
  for (let i = 0; i < n; i++) {
    let s = scale * ldf(r, i);
    const di = ldi(diagPos, i);
    for (let k = ldi(rp, i); k < di; k++) s -= omega * ldf(va, k) * ldf(z, ldi(ci, k));
    stf(z, i, s * ldf(dinv, i));
  }
  for (let i = n - 1; i >= 0; i--) {
    const di = ldi(diagPos, i);
    let s = ldf(va, di) * ldf(z, i);
    const end = ldi(rp, i + 1);
    for (let k = di + 1; k < end; k++) s -= omega * ldf(va, k) * ldf(z, ldi(ci, k));
    stf(z, i, s * ldf(dinv, i));
  }
}

export function jacobiApply(n: i32, dinv: usize, r: usize, z: usize): void {
  for (let i = 0; i < n; i++) stf(z, i, ldf(r, i) * ldf(dinv, i));
}
