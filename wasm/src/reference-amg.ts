// Smoothed-aggregation AMG, the plain TypeScript reference of wasm/assembly/amg.ts: the same
// setup and V-cycle in the same operation order, so the WASM kernel matches it bit for bit.
//
// Setup per level l (A_0 = A):
// - strength: a_ij (j ≠ i) is strong when a_ij² > θ_l² |a_ii a_jj| (θ_0 = 0.08, halved per level);
// - aggregation (standard SA greedy, rows in index order): pass 1 makes a root and its strong
//   neighbours an aggregate when none of them is taken; pass 2 adds each left-over row to the
//   aggregate of its first strong neighbour taken in pass 1; pass 3 makes aggregates of what is
//   left (a row and its untaken strong neighbours). Rows without a strong connection belong to
//   no aggregate: their P row is empty and the smoother alone treats them (they are decoupled);
// - tentative prolongator: P_t[i, agg(i)] = 1 (the constant near-null space);
// - smoothed prolongator P = (I - ω_P D_F⁻¹ A_F) P_t on the filtered matrix A_F (strong entries
//   and a diagonal that absorbs the weak ones), ω_P = 4/3 / ρ, ρ the Gershgorin bound of D_F⁻¹A_F;
//   P's values are stored in single precision (computed in double, rounded once): the cycle streams
//   P twice per level, and the Galerkin product uses the same rounded values, so A_{l+1} is still
//   exactly Rᵀ-symmetric and M⁻¹ symmetric;
// - R = Pᵀ, A_{l+1} = R A_l P row by row in two steps per coarse row I: v = Σ_i r_Ii A_i (a fine
//   row, accumulated in a dense array with a marker, fine columns in order of first appearance),
//   then row I = Σ_k v_k P_k; the pattern comes from a symbolic pass of the same walk;
// - damped Jacobi smoother ω_l = 4/3 / ρ(D⁻¹A_l) (Gershgorin), one sweep before and one after;
// - W-cycle where the next level's operator is small enough (`twice`), else V-cycle;
// - coarsest level (≤ COARSE_ROWS rows, or coarsening stalls): dense LU with partial pivoting, or
//   COARSE_SWEEPS Jacobi sweeps when it is too large for a dense factorisation.
// Structure (strength flags, aggregates, the patterns of P, R and A_{l+1}) and values are built
// apart: rebuild() recomputes the values for new entries of A on the kept structure.

export const THETA0 = 0.08;
export const COARSE_ROWS = 100;
export const DENSE_MAX = 400;
export const MAX_LEVELS = 12;
export const COARSE_SWEEPS = 4;

export interface AmgLevel {
  n: number;
  rp: Int32Array; ci: Int32Array; va: Float64Array;
  /** ω_l / a_ii: the damped Jacobi smoother's scaling. */
  sd: Float64Array;
  f: Float64Array; u: Float64Array; t: Float64Array; x: Float64Array;
  /** The W-cycle's copies of x and f between its two coarse iterations. */
  y: Float64Array; g: Float64Array;
  // towards the next level (absent on the coarsest)
  strong?: Uint8Array;
  agg?: Int32Array;
  nc?: number;
  pp?: Int32Array; pc?: Int32Array; pv?: Float32Array;
  /** R = Pᵀ's pattern; its values are P's, read through P's rows. */
  rp_?: Int32Array; rc?: Int32Array;
  // coarsest
  lu?: Float64Array; piv?: Int32Array;
}

type F = Float64Array;

/** 1 / a_ii (0 if missing); returns false when a diagonal is missing or zero. */
function scaledDiag(n: number, rp: Int32Array, ci: Int32Array, va: F, sd: F): boolean {
  // ρ(D⁻¹A) ≤ max_i Σ_j |a_ij| / |a_ii| (Gershgorin), ω = 4/3 / ρ.
  let rho = 0;
  let ok = true;
  for (let i = 0; i < n; i++) {
    let d = 0, sum = 0;
    for (let k = rp[i]!; k < rp[i + 1]!; k++) {
      const v = va[k]!;
      if (ci[k] === i) d = v;
      sum += Math.abs(v);
    }
    if (d === 0) { ok = false; sd[i] = 0; continue; }
    const inv = 1.0 / d;
    sd[i] = inv;
    const g = sum * Math.abs(inv);
    if (g > rho) rho = g;
  }
  const omega = rho > 0 ? 4.0 / (3.0 * rho) : 1.0;
  for (let i = 0; i < n; i++) sd[i] = omega * sd[i]!;
  return ok;
}

/** Strength flags per entry of A_l; diagonal entries are never strong. */
function strength(n: number, rp: Int32Array, ci: Int32Array, va: F, theta: number, strong: Uint8Array): void {
  const diag = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let k = rp[i]!; k < rp[i + 1]!; k++) if (ci[k] === i) diag[i] = va[k]!;
  const eps2 = theta * theta;
  for (let i = 0; i < n; i++) {
    for (let k = rp[i]!; k < rp[i + 1]!; k++) {
      const j = ci[k]!;
      const v = va[k]!;
      strong[k] = j !== i && v * v > eps2 * Math.abs(diag[i]! * diag[j]!) ? 1 : 0;
    }
  }
}

/** Standard SA greedy aggregation; returns the number of aggregates (agg[i] = -1: isolated row). */
export function aggregate(n: number, rp: Int32Array, ci: Int32Array, strong: Uint8Array, agg: Int32Array): number {
  // state: 0 free, 1 taken in pass 1, 2 taken later; -1 in agg until assigned.
  const state = new Uint8Array(n);
  agg.fill(-1);
  let nc = 0;
  for (let i = 0; i < n; i++) {
    let hasStrong = false, free = true;
    for (let k = rp[i]!; k < rp[i + 1]!; k++) {
      if (strong[k] === 0) continue;
      hasStrong = true;
      if (state[ci[k]!] !== 0) { free = false; break; }
    }
    if (!hasStrong || !free || state[i] !== 0) continue;
    agg[i] = nc; state[i] = 1;
    for (let k = rp[i]!; k < rp[i + 1]!; k++) if (strong[k] !== 0) { agg[ci[k]!] = nc; state[ci[k]!] = 1; }
    nc++;
  }
  for (let i = 0; i < n; i++) {
    if (state[i] !== 0) continue;
    for (let k = rp[i]!; k < rp[i + 1]!; k++) {
      if (strong[k] !== 0 && state[ci[k]!] === 1) { agg[i] = agg[ci[k]!]!; state[i] = 2; break; }
    }
  }
  for (let i = 0; i < n; i++) {
    if (state[i] !== 0) continue;
    let hasStrong = false;
    for (let k = rp[i]!; k < rp[i + 1]!; k++) if (strong[k] !== 0) { hasStrong = true; break; }
    if (!hasStrong) continue;
    agg[i] = nc; state[i] = 2;
    for (let k = rp[i]!; k < rp[i + 1]!; k++) if (strong[k] !== 0 && state[ci[k]!] === 0) { agg[ci[k]!] = nc; state[ci[k]!] = 2; }
    nc++;
  }
  return nc;
}

/** P's pattern: row i holds the aggregates of i and of its strong neighbours, in A's column order of first appearance. */
function pSymbolic(n: number, rp: Int32Array, ci: Int32Array, strong: Uint8Array, agg: Int32Array, nc: number): { pp: Int32Array; pc: Int32Array } {
  const mark = new Int32Array(nc).fill(-1);
  const pp = new Int32Array(n + 1);
  const cols: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let k = rp[i]!; k < rp[i + 1]!; k++) {
      const j = ci[k]!;
      if (j !== i && strong[k] === 0) continue;
      const c = agg[j]!;
      if (c < 0 || mark[c] === i) continue;
      mark[c] = i;
      cols.push(c);
    }
    pp[i + 1] = cols.length;
  }
  return { pp, pc: Int32Array.from(cols) };
}

/** P's values on its pattern: row i of (I - ω_P D_F⁻¹ A_F) P_t, summed in double by aggregate, stored rounded. */
function pNumeric(L: AmgLevel, acc: Float64Array): void {
  const { n, rp, ci, va } = L;
  const strong = L.strong!, agg = L.agg!, pp = L.pp!, pc = L.pc!, pv = L.pv!;
  // Filtered diagonal (a_ii plus the weak entries, in column order) and ρ(D_F⁻¹A_F) by Gershgorin.
  const dF = new Float64Array(n);
  let rho = 0;
  for (let i = 0; i < n; i++) {
    let d = 0, off = 0;
    for (let k = rp[i]!; k < rp[i + 1]!; k++) {
      if (ci[k] === i || strong[k] === 0) d += va[k]!; else off += Math.abs(va[k]!);
    }
    dF[i] = d;
    if (d !== 0) { const g = (off + Math.abs(d)) / Math.abs(d); if (g > rho) rho = g; }
  }
  const omega = rho > 0 ? 4.0 / (3.0 * rho) : 0;
  const diagCoef = 1 - omega;
  for (let i = 0; i < n; i++) {
    const b0 = pp[i]!, b1 = pp[i + 1]!;
    for (let m = b0; m < b1; m++) acc[pc[m]!] = 0;
    const s = dF[i] !== 0 ? omega / dF[i]! : 0;
    for (let k = rp[i]!; k < rp[i + 1]!; k++) {
      const j = ci[k]!;
      if (j === i) { const c = agg[i]!; if (c >= 0) acc[c] = acc[c]! + diagCoef; continue; }
      if (strong[k] === 0) continue;
      const c = agg[j]!;
      if (c < 0) continue;
      acc[c] = acc[c]! + -s * va[k]!;
    }
    for (let m = b0; m < b1; m++) pv[m] = acc[pc[m]!]!; // Float32Array: rounded once
  }
}

/** R = Pᵀ's pattern: rows by aggregate, fine rows ascending within each. */
function transpose(n: number, nc: number, pp: Int32Array, pc: Int32Array, rrp: Int32Array, rc: Int32Array): void {
  rrp.fill(0);
  for (let m = 0; m < pp[n]!; m++) { const c = pc[m]! + 1; rrp[c] = rrp[c]! + 1; }
  for (let c = 0; c < nc; c++) rrp[c + 1] = rrp[c + 1]! + rrp[c]!;
  const fill = rrp.slice(0, nc);
  for (let i = 0; i < n; i++) {
    for (let m = pp[i]!; m < pp[i + 1]!; m++) {
      const c = pc[m]!;
      rc[fill[c]!] = i;
      fill[c] = fill[c]! + 1;
    }
  }
}

/**
 * A_{l+1}'s pattern: row I = the columns of P reached through A from R's row I, in order of
 * discovery (fine columns deduplicated by a marker: each P row is walked once per coarse row).
 */
function galerkinSymbolic(L: AmgLevel, nc: number): { rp: Int32Array; ci: Int32Array } {
  const { n, rp, ci } = L;
  const rrp = L.rp_!, rc = L.rc!, pp = L.pp!, pc = L.pc!;
  const fmark = new Int32Array(n).fill(-1);
  const mark = new Int32Array(nc).fill(-1);
  const crp = new Int32Array(nc + 1);
  const cols: number[] = [];
  for (let I = 0; I < nc; I++) {
    for (let q = rrp[I]!; q < rrp[I + 1]!; q++) {
      const i = rc[q]!;
      for (let k = rp[i]!; k < rp[i + 1]!; k++) {
        const kk = ci[k]!;
        if (fmark[kk] === I) continue;
        fmark[kk] = I;
        for (let m = pp[kk]!; m < pp[kk + 1]!; m++) {
          const J = pc[m]!;
          if (mark[J] === I) continue;
          mark[J] = I;
          cols.push(J);
        }
      }
    }
    crp[I + 1] = cols.length;
  }
  return { rp: crp, ci: Int32Array.from(cols) };
}

/**
 * A_{l+1} = R A_l P on its pattern, row I in two steps: v_k = Σ_i r_Ii a_ik over R's row I and
 * A's rows (each v_k from its first product, in walk order), then a_IJ = Σ_k v_k p_kJ with the
 * fine columns k in order of first appearance (a second walk takes each once: marker -2).
 */
function galerkinNumeric(L: AmgLevel, C: AmgLevel, acc: F, fmark: Int32Array, pos: Int32Array): void {
  const { rp, ci, va } = L;
  const rrp = L.rp_!, rc = L.rc!, pp = L.pp!, pc = L.pc!, pv = L.pv!;
  const crp = C.rp, cci = C.ci, cva = C.va;
  fmark.fill(-1, 0, L.n);
  for (let I = 0; I < C.n; I++) {
    for (let m = crp[I]!; m < crp[I + 1]!; m++) { pos[cci[m]!] = m; cva[m] = 0; }
    const q0 = rrp[I]!, q1 = rrp[I + 1]!;
    for (let q = q0; q < q1; q++) {
      const i = rc[q]!;
      let r = 0; // r_Ii = p_iI, from row i of P
      for (let m = pp[i]!; m < pp[i + 1]!; m++) if (pc[m] === I) { r = pv[m]!; break; }
      for (let k = rp[i]!; k < rp[i + 1]!; k++) {
        const kk = ci[k]!;
        const ra = r * va[k]!;
        if (fmark[kk] === I) acc[kk] = acc[kk]! + ra; else { fmark[kk] = I; acc[kk] = ra; }
      }
    }
    for (let q = q0; q < q1; q++) {
      const i = rc[q]!;
      for (let k = rp[i]!; k < rp[i + 1]!; k++) {
        const kk = ci[k]!;
        if (fmark[kk] !== I) continue;
        fmark[kk] = -2;
        const v = acc[kk]!;
        for (let m = pp[kk]!; m < pp[kk + 1]!; m++) {
          const at = pos[pc[m]!]!;
          cva[at] = cva[at]! + v * pv[m]!;
        }
      }
    }
  }
}

/** Dense LU with partial pivoting of the coarsest A (row-major); false on a zero pivot. */
function denseFactor(L: AmgLevel): boolean {
  const m = L.n, a = L.lu!, piv = L.piv!;
  a.fill(0);
  for (let i = 0; i < m; i++) for (let k = L.rp[i]!; k < L.rp[i + 1]!; k++) a[i * m + L.ci[k]!] = L.va[k]!;
  for (let k = 0; k < m; k++) {
    let p = k, best = Math.abs(a[k * m + k]!);
    for (let i = k + 1; i < m; i++) { const v = Math.abs(a[i * m + k]!); if (v > best) { best = v; p = i; } }
    piv[k] = p;
    if (p !== k) for (let j = 0; j < m; j++) { const t = a[k * m + j]!; a[k * m + j] = a[p * m + j]!; a[p * m + j] = t; }
    const d = a[k * m + k]!;
    if (d === 0 || !Number.isFinite(d)) return false;
    for (let i = k + 1; i < m; i++) {
      const l = a[i * m + k]! / d;
      a[i * m + k] = l;
      for (let j = k + 1; j < m; j++) a[i * m + j] = a[i * m + j]! - l * a[k * m + j]!;
    }
  }
  return true;
}

function denseSolve(L: AmgLevel, f: F, x: F): void {
  const m = L.n, a = L.lu!, piv = L.piv!;
  x.set(f);
  for (let k = 0; k < m; k++) { const p = piv[k]!; if (p !== k) { const t = x[k]!; x[k] = x[p]!; x[p] = t; } }
  for (let i = 0; i < m; i++) {
    let s = x[i]!;
    for (let j = 0; j < i; j++) s -= a[i * m + j]! * x[j]!;
    x[i] = s;
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = x[i]!;
    for (let j = i + 1; j < m; j++) s -= a[i * m + j]! * x[j]!;
    x[i] = s / a[i * m + i]!;
  }
}

function rowDot(rp: Int32Array, ci: Int32Array, va: F, i: number, u: F): number {
  let s = 0;
  for (let k = rp[i]!; k < rp[i + 1]!; k++) s += va[k]! * u[ci[k]!]!;
  return s;
}

const newLevel = (n: number, rp: Int32Array, ci: Int32Array, va: F): AmgLevel =>
  ({ n, rp, ci, va, sd: new Float64Array(n), f: new Float64Array(n), u: new Float64Array(n), t: new Float64Array(n), x: new Float64Array(n), y: new Float64Array(n), g: new Float64Array(n) });

/**
 * The coarse level is solved twice (a W-cycle) when its operator has at most 2/5 of the fine
 * level's entries: the V-cycle's iterations grew with the number of levels (2D Poisson, CG to
 * 1e-8: 18 at n=1e4, 25 at 4.9e5), the W-cycle's do not (13, 14), and the ratio bounds the extra
 * work (geometric, factor ≤ 0.8). Counting entries, not rows: line aggregates of an anisotropic
 * problem coarsen 3:1 in rows into a 9-point operator (3/5 of the entries), where a second visit
 * doubles the cycle's largest coarse cost.
 */
export const twice = (nnz: number, nnzc: number): boolean => nnzc * 5 <= nnz * 2;

export class AmgHierarchy {
  readonly levels: AmgLevel[] = [];
  // Scratch for the setup and rebuild, sized for the finest level.
  private pos: Int32Array;
  private fmark: Int32Array;
  private acc: F;

  /**
   * Full setup on A (canonical CSR), level by level: a level's values are needed for the next
   * level's strength. `ok` false when a diagonal is zero or the coarsest LU meets a zero pivot.
   */
  constructor(n: number, rp: Int32Array, ci: Int32Array, va: F) {
    this.pos = new Int32Array(n);
    this.fmark = new Int32Array(n);
    this.acc = new Float64Array(n);
    let L = newLevel(n, rp, ci, va);
    let theta = THETA0;
    this.ok = true;
    for (let l = 0; ; l++) {
      this.levels.push(L);
      if (!scaledDiag(L.n, L.rp, L.ci, L.va, L.sd)) { this.ok = false; return; }
      if (L.n <= COARSE_ROWS || l === MAX_LEVELS - 1) break;
      const strong = new Uint8Array(L.va.length);
      strength(L.n, L.rp, L.ci, L.va, theta, strong);
      const agg = new Int32Array(L.n);
      const nc = aggregate(L.n, L.rp, L.ci, strong, agg);
      if (nc === 0 || nc * 5 > L.n * 4) break; // coarsening stalls: this level is the coarsest
      L.strong = strong; L.agg = agg; L.nc = nc;
      const { pp, pc } = pSymbolic(L.n, L.rp, L.ci, strong, agg, nc);
      L.pp = pp; L.pc = pc; L.pv = new Float32Array(pc.length);
      L.rp_ = new Int32Array(nc + 1); L.rc = new Int32Array(pc.length);
      pNumeric(L, this.acc);
      transpose(L.n, nc, pp, pc, L.rp_, L.rc);
      const g = galerkinSymbolic(L, nc);
      const C = newLevel(nc, g.rp, g.ci, new Float64Array(g.ci.length));
      galerkinNumeric(L, C, this.acc, this.fmark, this.pos);
      L = C;
      theta *= 0.5;
    }
    const last = this.levels[this.levels.length - 1]!;
    if (last.n <= DENSE_MAX) {
      last.lu = new Float64Array(last.n * last.n); last.piv = new Int32Array(last.n);
      this.ok = denseFactor(last);
    }
  }

  ok: boolean;

  /** Rebuild: the values of every level for A's current entries, on the kept structure. */
  numeric(): boolean {
    const ls = this.levels;
    for (let l = 0; l < ls.length; l++) {
      const L = ls[l]!;
      if (!scaledDiag(L.n, L.rp, L.ci, L.va, L.sd)) return false;
      if (L.agg === undefined) break;
      pNumeric(L, this.acc);
      galerkinNumeric(L, ls[l + 1]!, this.acc, this.fmark, this.pos);
    }
    const last = ls[ls.length - 1]!;
    return last.lu === undefined || denseFactor(last);
  }

  /** x = M⁻¹ f: one V-cycle from a zero guess. */
  apply(f: F, x: F): void {
    const L0 = this.levels[0]!;
    L0.f = f;
    this.cycle(0, x);
  }

  private cycle(l: number, out: F): void {
    const L = this.levels[l]!;
    const { n, rp, ci, va, sd, f, u, t } = L;
    if (l === this.levels.length - 1) {
      if (L.lu !== undefined) { denseSolve(L, f, out); return; }
      for (let i = 0; i < n; i++) u[i] = sd[i]! * f[i]!;
      for (let s = 1; s < COARSE_SWEEPS; s++) {
        const src = s % 2 === 1 ? u : t, dst = s % 2 === 1 ? t : u;
        for (let i = 0; i < n; i++) dst[i] = src[i]! + sd[i]! * (f[i]! - rowDot(rp, ci, va, i, src));
      }
      out.set(COARSE_SWEEPS % 2 === 1 ? u : t);
      return;
    }
    // Pre-smoothing from zero: u = ω D⁻¹ f. Residual t = f - A u. Restriction f_c = R t.
    for (let i = 0; i < n; i++) u[i] = sd[i]! * f[i]!;
    for (let i = 0; i < n; i++) t[i] = f[i]! - rowDot(rp, ci, va, i, u);
    const C = this.levels[l + 1]!;
    // f_c = R t: each f_c[c] sums its terms in ascending fine row from 0 (R's row order), here
    // scattered through P's rows as the kernel does.
    const pp = L.pp!, pc = L.pc!, pv = L.pv!;
    C.f.fill(0);
    for (let i = 0; i < n; i++) for (let m = pp[i]!; m < pp[i + 1]!; m++) C.f[pc[m]!] = C.f[pc[m]!]! + pv[m]! * t[i]!;
    this.cycle(l + 1, C.x);
    if (twice(L.va.length, C.va.length) && l + 1 < this.levels.length - 1) {
      // W-cycle: a second coarse iteration x_c += V(f_c - A_c x_c).
      C.y.set(C.x); C.g.set(C.f);
      for (let c = 0; c < C.n; c++) C.f[c] = C.g[c]! - rowDot(C.rp, C.ci, C.va, c, C.y);
      this.cycle(l + 1, C.x);
      for (let c = 0; c < C.n; c++) C.x[c] = C.y[c]! + C.x[c]!;
    }
    // Prolongation u += P x_c, then post-smoothing into out.
    const xc = C.x;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let m = pp[i]!; m < pp[i + 1]!; m++) s += pv[m]! * xc[pc[m]!]!;
      u[i] = u[i]! + s;
    }
    for (let i = 0; i < n; i++) out[i] = u[i]! + sd[i]! * (f[i]! - rowDot(rp, ci, va, i, u));
  }
}
