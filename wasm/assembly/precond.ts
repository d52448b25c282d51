// Preconditioners z = M⁻¹ r. Sparse triangular sweeps run row by row in index order.
import { ldf, stf, ldi } from './memory';

/**
 * ILU(0): factors A ≈ LU on A's own sparsity pattern (IKJ order). `lu` receives L (unit
 * diagonal, not stored) below and U on/above the diagonal; `udinv` the reciprocal pivots.
 * relax > 0 gives relaxed modified ILU: relax × the fill dropped from row i is subtracted from
 * its pivot, so LU keeps A's row sums (relax = 1), which takes the smooth near-null modes of
 * Laplacian-like matrices out of the preconditioned spectrum. Returns -1 on success or the row
 * whose pivot vanished.
 */
export function ilu0Factor(n: i32, rp: usize, ci: usize, va: usize, diagPos: usize, lu: usize, udinv: usize, relax: f64): i32 {
  const nnz = ldi(rp, n);
  memory.copy(lu, va, (<usize>nnz) << 3);
  for (let i = 0; i < n; i++) {
    const rowEnd = ldi(rp, i + 1);
    const di = ldi(diagPos, i);
    if (di < 0) return i;
    let drop: f64 = 0;
    for (let k = ldi(rp, i); k < di; k++) {
      const j = ldi(ci, k);
      const lik = ldf(lu, k) * ldf(udinv, j);
      stf(lu, k, lik);
      // Row i minus lik × (upper part of row j), restricted to row i's pattern: a sorted merge.
      let a = k + 1;
      let m = ldi(diagPos, j) + 1;
      const mEnd = ldi(rp, j + 1);
      while (a < rowEnd && m < mEnd) {
        const ca = ldi(ci, a);
        const cm = ldi(ci, m);
        if (ca == cm) { stf(lu, a, ldf(lu, a) - lik * ldf(lu, m)); a++; m++; }
        else if (ca < cm) a++;
        else { if (relax != 0) drop += lik * ldf(lu, m); m++; }
      }
      if (relax != 0) for (; m < mEnd; m++) drop += lik * ldf(lu, m);
    }
    if (relax != 0) stf(lu, di, ldf(lu, di) - relax * drop);
    const piv = ldf(lu, di);
    if (piv == 0 || !isFinite(piv)) return i;
    stf(udinv, i, 1.0 / piv);
  }
  return -1;
}

export function iluApply(n: i32, rp: usize, ci: usize, diagPos: usize, lu: usize, udinv: usize, r: usize, z: usize): void {
  for (let i = 0; i < n; i++) {
    let s = ldf(r, i);
    const di = ldi(diagPos, i);
    for (let k = ldi(rp, i); k < di; k++) s -= ldf(lu, k) * ldf(z, ldi(ci, k));
    stf(z, i, s);
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = ldf(z, i);
    const end = ldi(rp, i + 1);
    for (let k = ldi(diagPos, i) + 1; k < end; k++) s -= ldf(lu, k) * ldf(z, ldi(ci, k));
    stf(z, i, s * ldf(udinv, i));
  }
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
