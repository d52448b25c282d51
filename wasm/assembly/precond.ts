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

// ---------- SSOR in split form (Eisenstat's trick), for BiCGSTAB ----------
// With A = L + D + U, L̃ = D/ω + L and Ũ' = I + ω D⁻¹U, M = L̃ Ũ' is SSOR(ω) up to a scale, and
// since A = L̃ + (D/ω) Ũ' - K with K = (2/ω - 1) D, the split operator L̃⁻¹ A Ũ'⁻¹ applied to w
// is t + L̃⁻¹((D/ω) w - K t) with t = Ũ'⁻¹ w: one backward and one forward sweep over half of A
// each, instead of an SpMV and both sweeps of M⁻¹. Every sum runs in the order the reference's does.

// The sweeps' row sums take no branch that depends on a row's length. On a matrix whose rows
// differ in length from one to the next (bench/solver's network flow: the lower and upper halves
// hold 0 to ~6 entries), a loop per row is mispredicted about once a row, and that cost the sweeps
// more than their arithmetic. So the sums go two slots a step, and the step repeats only for the
// rarer longer rows. A slot past the row's end multiplies ZERO by itself: +0, and a sum from +0
// plus +0 is bit for bit what the loop gives. It still reads that entry's column index (at most
// one past either end of A's entries: the neighbouring arrays, never used).
const ZERO: usize = memory.data(8);

/** va[k] · v[ci[k]] at pc / pv, or where !inRow ZERO squared: both addresses picked by integer selects. */
@inline function slot(pc: usize, pv: usize, v: usize, inRow: bool): f64 {
  const xa = select<usize>(v + ((<usize>load<i32>(pc)) << 3), ZERO, inRow);
  const aa = select<usize>(pv, ZERO, inRow);
  return load<f64>(aa) * load<f64>(xa);
}

/** Σ va[k] v[ci[k]] over k from k0 up to k1 - 1, in that order from +0. */
@inline function sumUp(k0: i32, k1: i32, ci: usize, va: usize, v: usize): f64 {
  let acc: f64 = 0;
  let pc = ci + ((<usize>k0) << 2), pv = va + ((<usize>k0) << 3);
  let k = k0;
  do {
    acc += slot(pc, pv, v, k < k1);
    acc += slot(pc + 4, pv + 8, v, k + 1 < k1);
    k += 2; pc += 8; pv += 16;
  } while (k < k1);
  return acc;
}

/** Σ va[k] v[ci[k]] over k from k1 - 1 down to k0, in that order from +0. */
@inline function sumDown(k0: i32, k1: i32, ci: usize, va: usize, v: usize): f64 {
  let acc: f64 = 0;
  let k = k1 - 1;
  let pc = ci + ((<usize>k) << 2), pv = va + ((<usize>k) << 3);
  do {
    acc += slot(pc, pv, v, k >= k0);
    acc += slot(pc - 4, pv - 8, v, k - 1 >= k0);
    k -= 2; pc -= 8; pv -= 16;
  } while (k >= k0);
  return acc;
}

/** Σ_{j<i} a_ij v_j of row i, in index order (the subdiagonal, nearest, last). */
@inline function lowerSum(i: i32, rp: usize, ci: usize, va: usize, diagPos: usize, v: usize): f64 {
  return sumUp(ldi(rp, i), ldi(diagPos, i), ci, va, v);
}

/**
 * lowerSum of a forward sweep that is writing v row by row and has just written v_{i-1} = prev:
 * the subdiagonal's term (last in a sorted row) takes prev from the register instead of loading
 * the value just stored. With a subdiagonal in every row (a ring, a chain, a grid) each row then
 * waits for the one before on a multiply and an add, not on a store-to-load forwarding as well.
 * The same products summed in the same order as lowerSum.
 */
@inline function lowerSumAfter(i: i32, rp: usize, ci: usize, va: usize, diagPos: usize, v: usize, prev: f64): f64 {
  const k0 = ldi(rp, i), last = ldi(diagPos, i) - 1;
  if (last < k0 || ldi(ci, last) != i - 1) return lowerSum(i, rp, ci, va, diagPos, v);
  return sumUp(k0, last, ci, va, v) + ldf(va, last) * prev;
}

/** Σ_{j>i} a_ij v_j of row i, from the row's end back (the superdiagonal, nearest, last). */
@inline function upperSum(i: i32, rp: usize, ci: usize, va: usize, diagPos: usize, v: usize): f64 {
  return sumDown(ldi(diagPos, i) + 1, ldi(rp, i + 1), ci, va, v);
}

/** r ← L̃⁻¹ r in place (r̂_i = (r_i - Σ_{j<i} a_ij r̂_j) · ω/a_ii); returns ||r̂||², in row order. */
export function ssorToSplit(n: i32, rp: usize, ci: usize, va: usize, diagPos: usize, dinv: usize, omega: f64, r: usize): f64 {
  let hh: f64 = 0, prev: f64 = 0;
  for (let i = 0; i < n; i++) {
    const h = (ldf(r, i) - lowerSumAfter(i, rp, ci, va, diagPos, r, prev)) * (omega * ldf(dinv, i));
    stf(r, i, h);
    hh += h * h;
    prev = h;
  }
  return hh;
}

/** ||L̃ v||² (L̃ v_i = (a_ii/ω) v_i + Σ_{j<i} a_ij v_j): the residual whose split form v is. */
export function ssorLowerSquares(n: i32, rp: usize, ci: usize, va: usize, diagPos: usize, omega: f64, v: usize): f64 {
  let ee: f64 = 0;
  for (let i = 0; i < n; i++) {
    const e = (ldf(va, ldi(diagPos, i)) / omega) * ldf(v, i) + lowerSum(i, rp, ci, va, diagPos, v);
    ee += e * e;
  }
  return ee;
}

/**
 * t = Ũ'⁻¹ w (t_i = w_i - ω/a_ii · Σ_{j>i} a_ij t_j, last row first). With r ≠ 0 the sweep first
 * writes w_i = r_i + β (w_i - ω_k q_i) (BiCGSTAB's direction p, in place) as it reaches row i.
 */
@inline function backward(n: i32, rp: usize, ci: usize, va: usize, diagPos: usize, dinv: usize, omega: f64,
  w: usize, t: usize, r: usize, q: usize, beta: f64, omk: f64): void {
  for (let i = n - 1; i >= 0; i--) {
    let wi = ldf(w, i);
    if (r != 0) { wi = ldf(r, i) + beta * (wi - omk * ldf(q, i)); stf(w, i, wi); }
    stf(t, i, wi - (omega * ldf(dinv, i)) * upperSum(i, rp, ci, va, diagPos, t));
  }
}

export function ssorBackward(n: i32, rp: usize, ci: usize, va: usize, diagPos: usize, dinv: usize, omega: f64, w: usize, t: usize): void {
  backward(n, rp, ci, va, diagPos, dinv, omega, w, t, 0, 0, 0, 0);
}

/** p = r + β (p - ω_k q) and z = Ũ'⁻¹ p in one backward sweep. */
export function ssorBackwardP(n: i32, rp: usize, ci: usize, va: usize, diagPos: usize, dinv: usize, omega: f64,
  p: usize, z: usize, r: usize, q: usize, beta: f64, omk: f64): void {
  backward(n, rp, ci, va, diagPos, dinv, omega, p, z, r, q, beta, omk);
}

/** Set by ssorForward: Σ out_i² (BiCGSTAB's t·t). */
export let ssorOutSquares: f64 = 0;

/**
 * out = t + u with u = L̃⁻¹((D/ω) w - K t), as u_i = (w_i - (2-ω) t_i) - ω/a_ii · Σ_{j<i} a_ij u_j
 * (u kept in `u`); returns d·out in row order and leaves out·out in ssorOutSquares.
 */
export function ssorForward(n: i32, rp: usize, ci: usize, va: usize, diagPos: usize, dinv: usize, omega: f64,
  w: usize, t: usize, u: usize, out: usize, d: usize): f64 {
  const k2 = 2.0 - omega;
  let dd: f64 = 0, oo: f64 = 0, prev: f64 = 0;
  for (let i = 0; i < n; i++) {
    const ti = ldf(t, i);
    const ui = (ldf(w, i) - k2 * ti) - (omega * ldf(dinv, i)) * lowerSumAfter(i, rp, ci, va, diagPos, u, prev);
    stf(u, i, ui);
    prev = ui;
    const oi = ti + ui;
    stf(out, i, oi);
    dd += ldf(d, i) * oi;
    oo += oi * oi;
  }
  ssorOutSquares = oo;
  return dd;
}
