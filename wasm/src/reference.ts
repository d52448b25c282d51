// Plain TypeScript reference of every kernel in wasm/assembly. Same algorithms, same operation
// order, so results match the WASM kernel bit for bit; tests hold the kernel to it, and it is the
// fallback where WASM is unavailable. Written for clarity over speed.
import type { AmgLevelInfo, Kernel } from './kernel';
import { AmgHierarchy } from './reference-amg';
import type { Csr } from './types';

const RUNNING = 0, CONVERGED = 1, BREAKDOWN = 2, STAGNATED = 3, DIVERGED = 4, NOT_APPLICABLE = 5, NOT_STARTED = 6;
const JACOBI = 0, GAUSS_SEIDEL = 1, CG = 2, BICGSTAB = 3, NEUMANN = 4;
const PC_NONE = 0, PC_JACOBI = 1, PC_ILU0 = 2, PC_SSOR = 3, PC_MILU0 = 4, PC_AMG = 5;
const DIVERGENCE_FACTOR = 1e8;
/** Within this factor of tol the split residual estimate is replaced by the residual it stands for. */
const SPLIT_CHECK = 10;

// noUncheckedIndexedAccess: typed-array reads are in range by construction here.
type F = Float64Array;

export function spmv(a: Csr, x: F, y: F): void {
  for (let i = 0; i < a.n; i++) {
    let s = 0;
    for (let k = a.rowPtr[i]!; k < a.rowPtr[i + 1]!; k++) s += a.values[k]! * x[a.colIdx[k]!]!;
    y[i] = s;
  }
}

/** r = b - A x, returns ||r||². */
export function residualInto(a: Csr, x: F, b: F, r: F): number {
  let rr = 0;
  for (let i = 0; i < a.n; i++) {
    let s = 0;
    for (let k = a.rowPtr[i]!; k < a.rowPtr[i + 1]!; k++) s += a.values[k]! * x[a.colIdx[k]!]!;
    const ri = b[i]! - s;
    r[i] = ri;
    rr += ri * ri;
  }
  return rr;
}

function find(a: Csr, i: number, j: number): number {
  let lo = a.rowPtr[i]!;
  let hi = a.rowPtr[i + 1]! - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = a.colIdx[mid]!;
    if (c === j) return mid;
    if (c < j) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

function norm2(v: F): number {
  let acc = 0;
  for (let i = 0; i < v.length; i++) acc += v[i]! * v[i]!;
  return Math.sqrt(acc);
}

function dot(u: F, v: F): number {
  let acc = 0;
  for (let i = 0; i < u.length; i++) acc += u[i]! * v[i]!;
  return acc;
}

/** mulberry32, in the same 32-bit arithmetic as the kernel. */
export function mulberry(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1) >>> 0;
    t = (t ^ (t + (Math.imul(t ^ (t >>> 7), t | 61) >>> 0))) >>> 0;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class ReferenceKernel implements Kernel {
  private readonly a: { n: number; rowPtr: Int32Array; colIdx: Int32Array; values: Float64Array };
  private readonly diagPos: Int32Array;
  private b: F; private x: F; private readonly dinv: F;
  private readonly r: F; private readonly p: F; private readonly q: F; private z: F; private readonly s: F;
  private readonly t: F; private readonly rh: F; private readonly y: F; private readonly w: F; private readonly xb: F;
  private udinv: F | undefined;
  // L and U' values in single precision, as the kernel stores them: every store rounds alike.
  private split: { lp: Int32Array; lc: Int32Array; lv: Float32Array; up: Int32Array; uc: Int32Array; uv: Float32Array } | undefined;
  /** analyze() found every nonzero a_ji partnered by a_ij (the kernel's patternSymmetric). */
  private patternSymmetric = false;
  private bad = 0; private zeroDiag = 0; private iluDirty = true; private luRelax = -1;
  private method = -1; private precond = PC_NONE; private omega = 1; private started = false;
  private iters = 0; private bnorm = 0; private res = 0; private initRes = 0;
  private ckRes = 0; private ckIter = 0; private lastFailedTrue = 0;
  private rho = 0; private alpha = 0; private omg = 0; private rz = 0; private tt = 0;
  private bicgRestarts = 0;
  // BiCGSTAB+SSOR in split form (the kernel's stepBicgstabSplit): r = b - Ax until the first step
  // turns it into r̂ = L̃⁻¹ r; ||r|| ≈ splitC ||r̂||, measured within SPLIT_CHECK × tol.
  private splitPending = false; private splitC = 1;
  private gsNextCheck = 0; private gsPrevRes = 0; private gsPrevIter = 0;
  private cache: { rho: number; cmax: number } | undefined;
  // AMG: the hierarchy start() built; its values follow A (rebuild) until amgReset() or a new A.
  private amg: AmgHierarchy | undefined;
  private amgValuesDirty = false;
  private amgFull = 0; private amgRebuilds = 0;

  constructor(readonly n: number, nnz: number) {
    const v = (): F => new Float64Array(n);
    this.a = { n, rowPtr: new Int32Array(n + 1), colIdx: new Int32Array(nnz), values: new Float64Array(nnz) };
    this.diagPos = new Int32Array(n);
    this.b = v(); this.x = v(); this.dinv = v(); this.r = v(); this.p = v(); this.q = v(); this.z = v();
    this.s = v(); this.t = v(); this.rh = v(); this.y = v(); this.w = v(); this.xb = v();
  }

  load(csr: Csr): number {
    const a = this.a;
    a.rowPtr.set(csr.rowPtr); a.colIdx.set(csr.colIdx); a.values.set(csr.values);
    const n = this.n, nnz = a.values.length;
    if (a.rowPtr[0] !== 0 || a.rowPtr[n] !== nnz) { this.bad = 0; return -1; }
    for (let i = 0; i < n; i++) {
      const start = a.rowPtr[i]!, end = a.rowPtr[i + 1]!;
      if (end < start) { this.bad = i; return -1; }
      let prev = -1, d = -1;
      for (let k = start; k < end; k++) {
        const j = a.colIdx[k]!;
        if (j <= prev || j >= n) { this.bad = i; return -2; }
        if (!Number.isFinite(a.values[k]!)) { this.bad = i; return -3; }
        if (j === i) d = k;
        prev = j;
      }
      this.diagPos[i] = d;
    }
    this.diagInverse();
    this.iluDirty = true;
    this.amg = undefined;
    this.patternSymmetric = false;
    this.invalidate();
    return 0;
  }

  private diagInverse(): void {
    let bad = 0;
    for (let i = 0; i < this.n; i++) {
      const d = this.diagPos[i]!;
      const v = d < 0 ? 0 : this.a.values[d]!;
      if (v === 0) { this.dinv[i] = 0; bad++; } else this.dinv[i] = 1.0 / v;
    }
    this.zeroDiag = bad;
  }

  private invalidate(): void { this.started = false; this.cache = undefined; }

  badRow(): number { return this.bad; }
  zeroDiagonalRows(): number { return this.zeroDiag; }
  maxRowNnz(): number {
    let m = 0;
    for (let i = 0; i < this.n; i++) m = Math.max(m, this.a.rowPtr[i + 1]! - this.a.rowPtr[i]!);
    return m;
  }
  setB(b: ArrayLike<number>): void { this.b.set(b); this.invalidate(); }
  setX(x: ArrayLike<number>): void { this.x.set(x); this.invalidate(); }
  readX(): Float64Array { return this.x.slice(); }
  readB(): Float64Array { return this.b.slice(); }

  /** b_j - (A x)_j, summed as residualInto sums row j. */
  private rowResidual(j: number): number {
    const a = this.a;
    let s = 0;
    for (let k = a.rowPtr[j]!; k < a.rowPtr[j + 1]!; k++) s += a.values[k]! * this.x[a.colIdx[k]!]!;
    return this.b[j]! - s;
  }

  /** Σ r_j² over row i's columns: the rows a change of x_i moves when the pattern is symmetric. */
  private localSquares(i: number): number {
    const a = this.a;
    let acc = 0;
    for (let k = a.rowPtr[i]!; k < a.rowPtr[i + 1]!; k++) { const rj = this.rowResidual(a.colIdx[k]!); acc += rj * rj; }
    return acc;
  }

  /** As the kernel: b entries set, then one local relaxation per changed row, kept if it lowers the local residual. */
  updateB(indices: Int32Array, values: Float64Array): void {
    for (let k = 0; k < indices.length; k++) this.b[indices[k]!] = values[k]!;
    if (this.patternSymmetric && this.zeroDiag === 0) {
      for (let k = 0; k < indices.length; k++) {
        const i = indices[k]!;
        const ri = this.rowResidual(i);
        if (ri === 0) continue;
        const before = this.localSquares(i);
        const old = this.x[i]!;
        this.x[i] = old + ri * this.dinv[i]!;
        if (!(this.localSquares(i) < before)) this.x[i] = old;
      }
    }
    this.invalidate();
  }

  updateA(rows: Int32Array, cols: Int32Array, olds: Float64Array, news: Float64Array): { codes: Int32Array; current: Float64Array } {
    const codes = new Int32Array(rows.length);
    const current = new Float64Array(rows.length);
    let applied = 0;
    for (let k = 0; k < rows.length; k++) {
      const m = find(this.a, rows[k]!, cols[k]!);
      if (m < 0) { codes[k] = 2; continue; }
      const v = this.a.values[m]!;
      current[k] = v;
      if (v !== olds[k]) { codes[k] = 1; continue; }
      this.a.values[m] = news[k]!;
      applied++;
    }
    if (applied > 0) { this.patternSymmetric = false; this.diagInverse(); this.iluDirty = true; this.amgValuesDirty = true; this.invalidate(); }
    return { codes, current };
  }

  backupX(): void { this.xb.set(this.x); }
  restoreX(): void { this.x.set(this.xb); this.invalidate(); }

  residualRows(rows: Int32Array): { residuals: Float64Array; maxAbs: number } {
    const out = new Float64Array(rows.length);
    let worst = 0;
    const a = this.a;
    for (let q = 0; q < rows.length; q++) {
      const i = rows[q]!;
      let s = 0;
      for (let k = a.rowPtr[i]!; k < a.rowPtr[i + 1]!; k++) s += a.values[k]! * this.x[a.colIdx[k]!]!;
      const ri = this.b[i]! - s;
      out[q] = ri;
      if (Math.abs(ri) > worst) worst = Math.abs(ri);
    }
    return { residuals: out, maxAbs: worst };
  }

  trueResidual(): number {
    const rr = Math.sqrt(residualInto(this.a, this.x, this.b, this.w));
    const bn = norm2(this.b);
    return bn > 0 ? rr / bn : rr;
  }

  analyze(symTol: number): { flags: number; rho: number } {
    const a = this.a;
    let sym = true, pos = true, zmat = true, worst = 0;
    const cur = a.rowPtr.slice(0, this.n);
    for (let i = 0; i < this.n; i++) {
      let off = 0, d = 0;
      if (sym) {
        const di = this.diagPos[i]!;
        const lowEnd = di >= 0 ? di : a.rowPtr[i + 1]!;
        for (let k = cur[i]!; k < lowEnd; k++) if (a.colIdx[k]! < i && a.values[k] !== 0) { sym = false; break; }
      }
      for (let k = a.rowPtr[i]!; k < a.rowPtr[i + 1]!; k++) {
        const j = a.colIdx[k]!, v = a.values[k]!;
        if (j === i) { d = v; continue; }
        off += Math.abs(v);
        if (v > 0) zmat = false;
        if (sym && j > i) {
          let m = cur[j]!;
          const mEnd = a.rowPtr[j + 1]!;
          while (m < mEnd && a.colIdx[m]! < i) { if (a.values[m] !== 0) sym = false; m++; }
          let u = 0;
          if (m < mEnd && a.colIdx[m] === i) { u = a.values[m]!; m++; }
          cur[j] = m;
          if (Math.abs(v - u) > symTol * Math.max(Math.abs(v), Math.abs(u))) sym = false;
        }
      }
      if (!(d > 0)) pos = false;
      const ratio = d === 0 ? Infinity : off / Math.abs(d);
      if (ratio > worst) worst = ratio;
    }
    this.patternSymmetric = sym;
    return { flags: (sym ? 1 : 0) | (pos ? 2 : 0) | (worst <= 1 ? 4 : 0) | (worst < 1 ? 8 : 0) | (zmat ? 16 : 0), rho: worst };
  }

  // ---------- preconditioners ----------

  /** L and U rows of their own (the kernel's iluPattern), built once per session. */
  private iluPattern(): NonNullable<ReferenceKernel['split']> {
    const a = this.a, n = this.n;
    const lp = new Int32Array(n + 1), up = new Int32Array(n + 1);
    const lcs: number[] = [], ucs: number[] = [];
    for (let i = 0; i < n; i++) {
      lp[i] = lcs.length; up[i] = ucs.length;
      for (let k = a.rowPtr[i]!; k < a.rowPtr[i + 1]!; k++) {
        const j = a.colIdx[k]!;
        if (j < i) lcs.push(j); else if (k !== this.diagPos[i]) ucs.push(j);
      }
    }
    lp[n] = lcs.length; up[n] = ucs.length;
    return { lp, lc: Int32Array.from(lcs), lv: new Float32Array(lcs.length), up, uc: Int32Array.from(ucs), uv: new Float32Array(ucs.length) };
  }

  /** ILU(0) / relaxed MILU(0) into L and U' = D⁻¹U, as the kernel's ilu0Factor. */
  private ilu0Factor(relax: number): number {
    const a = this.a, n = this.n;
    const sp = (this.split ??= this.iluPattern());
    const { lp, lc, lv, up, uc, uv } = sp;
    const udinv = (this.udinv ??= new Float64Array(n));
    for (let i = 0; i < n; i++) {
      const di = this.diagPos[i]!;
      if (di < 0) return i;
      const lb = lp[i]!, le = lp[i + 1]!, ub = up[i]!, ue = up[i + 1]!, rs = a.rowPtr[i]!;
      for (let k = lb; k < le; k++) lv[k] = a.values[rs + (k - lb)]!;
      for (let k = ub; k < ue; k++) uv[k] = a.values[di + 1 + (k - ub)]!;
      let diag = a.values[di]!;
      let drop = 0;
      for (let k = lb; k < le; k++) {
        const j = lc[k]!;
        const wk = lv[k]!;
        lv[k] = wk * udinv[j]!;
        let p = k + 1, q = ub;
        for (let m = up[j]!; m < up[j + 1]!; m++) {
          const c = uc[m]!;
          const t = wk * uv[m]!;
          if (c < i) {
            while (p < le && lc[p]! < c) p++;
            if (p < le && lc[p] === c) { lv[p] = lv[p]! - t; p++; } else drop += t;
          } else if (c === i) {
            diag -= t;
          } else {
            while (q < ue && uc[q]! < c) q++;
            if (q < ue && uc[q] === c) { uv[q] = uv[q]! - t; q++; } else drop += t;
          }
        }
      }
      if (relax !== 0) diag -= relax * drop;
      if (diag === 0 || !Number.isFinite(diag)) return i;
      const d = 1.0 / diag;
      udinv[i] = d;
      for (let k = ub; k < ue; k++) uv[k] = uv[k]! * d;
    }
    return -1;
  }

  /** dst = (LU)⁻¹ src; returns src·dst summed from the last row up, as the kernel's iluSolve. */
  private iluSolve(src: F, dst: F): number {
    const { lp, lc, lv, up, uc, uv } = this.split!, udinv = this.udinv!;
    for (let i = 0; i < this.n; i++) {
      let s = src[i]!;
      for (let k = lp[i]!; k < lp[i + 1]!; k++) s -= lv[k]! * dst[lc[k]!]!;
      dst[i] = s;
    }
    let dot = 0;
    for (let i = this.n - 1; i >= 0; i--) {
      let s = udinv[i]! * dst[i]!;
      for (let k = up[i + 1]! - 1; k >= up[i]!; k--) s -= uv[k]! * dst[uc[k]!]!;
      dst[i] = s;
      dot += src[i]! * s;
    }
    return dot;
  }

  /** dst = M⁻¹ src; returns src·dst. */
  private precondDot(src: F, dst: F): number {
    if (this.precond === PC_ILU0 || this.precond === PC_MILU0) return this.iluSolve(src, dst);
    this.applyPrecond(src, dst);
    return dot(src, dst);
  }

  private applyPrecond(src: F, dst: F): void {
    const a = this.a, n = this.n;
    if (this.precond === PC_JACOBI) {
      for (let i = 0; i < n; i++) dst[i] = src[i]! * this.dinv[i]!;
    } else if (this.precond === PC_ILU0 || this.precond === PC_MILU0) {
      this.iluSolve(src, dst);
    } else if (this.precond === PC_AMG) {
      this.amg!.apply(src, dst);
    } else if (this.precond === PC_SSOR) {
      const om = this.omega, scale = om * (2.0 - om);
      for (let i = 0; i < n; i++) {
        let s = scale * src[i]!;
        for (let k = a.rowPtr[i]!; k < this.diagPos[i]!; k++) s -= om * a.values[k]! * dst[a.colIdx[k]!]!;
        dst[i] = s * this.dinv[i]!;
      }
      for (let i = n - 1; i >= 0; i--) {
        const di = this.diagPos[i]!;
        let s = a.values[di]! * dst[i]!;
        for (let k = di + 1; k < a.rowPtr[i + 1]!; k++) s -= om * a.values[k]! * dst[a.colIdx[k]!]!;
        dst[i] = s * this.dinv[i]!;
      }
    } else dst.set(src);
  }

  // ---------- methods ----------

  iterations(): number { return this.iters; }
  residualNorm(): number { return this.bnorm > 0 ? this.res / this.bnorm : this.res; }

  private restartRecurrences(): void {
    if (this.method === CG) {
      this.rz = this.precondDot(this.r, this.z);
      this.p.set(this.z);
    } else if (this.method === BICGSTAB) {
      if (!this.splitPending) this.rh.set(this.r);
      this.p.fill(0); this.q.fill(0);
      this.rho = 1; this.alpha = 1; this.omg = 1;
    }
  }

  start(m: number, pc: number, omega: number): number {
    this.method = m; this.precond = pc; this.omega = omega;
    this.started = false;
    const needsDiag = m === JACOBI || m === GAUSS_SEIDEL || m === NEUMANN || pc === PC_JACOBI || pc === PC_SSOR;
    if (needsDiag && this.zeroDiag > 0) return NOT_APPLICABLE;
    if (pc === PC_AMG) {
      if (this.zeroDiag > 0) return NOT_APPLICABLE;
      if (this.amg === undefined) {
        this.amg = new AmgHierarchy(this.n, this.a.rowPtr, this.a.colIdx, this.a.values);
        this.amgFull++;
        this.amgValuesDirty = false;
      } else if (this.amgValuesDirty) {
        this.amg.ok = this.amg.numeric();
        this.amgRebuilds++;
        this.amgValuesDirty = false;
      }
      if (!this.amg.ok) { this.amg = undefined; return NOT_APPLICABLE; }
    }
    const relax = pc === PC_MILU0 ? omega : 0;
    if ((pc === PC_ILU0 || pc === PC_MILU0) && (this.iluDirty || relax !== this.luRelax)) {
      const bad = this.ilu0Factor(relax);
      if (bad >= 0) { this.bad = bad; this.iluDirty = true; return NOT_APPLICABLE; }
      this.iluDirty = false; this.luRelax = relax;
    }
    this.iters = 0;
    this.bicgRestarts = 0;
    this.bnorm = norm2(this.b);
    this.res = Math.sqrt(residualInto(this.a, this.x, this.b, this.r));
    this.initRes = this.res; this.ckRes = this.res; this.ckIter = 0; this.lastFailedTrue = 0;
    this.gsNextCheck = 1; this.gsPrevRes = this.res; this.gsPrevIter = 0;
    this.splitPending = m === BICGSTAB && pc === PC_SSOR;
    this.restartRecurrences();
    this.started = true;
    return NOT_STARTED;
  }

  private watch(stagWindow: number): number {
    const ref = this.initRes > this.bnorm ? this.initRes : this.bnorm;
    if (!Number.isFinite(this.res) || this.res > DIVERGENCE_FACTOR * ref) return DIVERGED;
    if (this.res < 0.99 * this.ckRes) { this.ckRes = this.res; this.ckIter = this.iters; }
    else if (this.iters - this.ckIter > stagWindow) return STAGNATED;
    return RUNNING;
  }

  private confirm(tolAbs: number): number {
    const tr = Math.sqrt(residualInto(this.a, this.x, this.b, this.w));
    if (tr <= tolAbs) { this.res = tr; return CONVERGED; }
    if (this.lastFailedTrue > 0 && tr > 0.5 * this.lastFailedTrue) { this.res = tr; return STAGNATED; }
    this.lastFailedTrue = tr;
    this.r.set(this.w);
    this.res = tr;
    this.splitPending = this.method === BICGSTAB && this.precond === PC_SSOR;
    this.restartRecurrences();
    return RUNNING;
  }

  private stepJacobi(tolAbs: number): number {
    const a = this.a;
    let rr = 0;
    for (let i = 0; i < this.n; i++) {
      let acc = 0;
      for (let k = a.rowPtr[i]!; k < a.rowPtr[i + 1]!; k++) acc += a.values[k]! * this.x[a.colIdx[k]!]!;
      const ri = this.b[i]! - acc;
      rr += ri * ri;
      this.z[i] = this.x[i]! + ri * this.dinv[i]!;
    }
    this.res = Math.sqrt(rr);
    if (this.res <= tolAbs) return CONVERGED;
    if (!Number.isFinite(this.res)) return DIVERGED;
    const tmp = this.x; this.x = this.z; this.z = tmp;
    this.iters++;
    return RUNNING;
  }

  private stepGaussSeidel(tolAbs: number): number {
    const a = this.a, x = this.x;
    for (let i = 0; i < this.n; i++) {
      let acc = this.b[i]!;
      for (let k = a.rowPtr[i]!; k < a.rowPtr[i + 1]!; k++) {
        const j = a.colIdx[k]!;
        if (j !== i) acc -= a.values[k]! * x[j]!;
      }
      x[i] = acc * this.dinv[i]!;
    }
    this.iters++;
    if (this.iters < this.gsNextCheck) return RUNNING;
    this.res = Math.sqrt(residualInto(a, x, this.b, this.r));
    if (this.res <= tolAbs) return CONVERGED;
    let gap = 1;
    if (this.res < this.gsPrevRes && this.res > 0) {
      const rate = Math.pow(this.res / this.gsPrevRes, 1.0 / (this.iters - this.gsPrevIter));
      const remaining = Math.log(tolAbs / this.res) / Math.log(rate);
      gap = remaining > 64 ? 64 : remaining < 1 ? 1 : Math.trunc(remaining);
    }
    this.gsPrevRes = this.res; this.gsPrevIter = this.iters;
    this.gsNextCheck = this.iters + gap;
    return RUNNING;
  }

  private stepNeumann(tolAbs: number): number {
    const a = this.a, n = this.n;
    for (let i = 0; i < n; i++) {
      const ti = this.r[i]! * this.dinv[i]!;
      this.z[i] = ti;
      this.x[i] = this.x[i]! + ti;
    }
    let rr = 0;
    for (let i = 0; i < n; i++) {
      let acc = 0;
      for (let k = a.rowPtr[i]!; k < a.rowPtr[i + 1]!; k++) acc += a.values[k]! * this.z[a.colIdx[k]!]!;
      const ri = this.r[i]! - acc;
      this.r[i] = ri;
      rr += ri * ri;
    }
    this.iters++;
    this.res = Math.sqrt(rr);
    if (this.res <= tolAbs) return this.confirm(tolAbs);
    return RUNNING;
  }

  private stepCg(tolAbs: number): number {
    const n = this.n, { x, r, p, q, dinv } = this;
    spmv(this.a, p, q);
    const pq = dot(p, q);
    if (!(pq > 0) || !Number.isFinite(pq)) return BREAKDOWN;
    const al = this.rz / pq;
    if (!Number.isFinite(al)) return BREAKDOWN;
    let rr = 0, rzn = 0;
    for (let i = 0; i < n; i++) {
      x[i] = x[i]! + al * p[i]!;
      const ri = r[i]! - al * q[i]!;
      r[i] = ri;
      rr += ri * ri;
      if (this.precond === PC_JACOBI) rzn += ri * (ri * dinv[i]!);
    }
    this.iters++;
    this.res = Math.sqrt(rr);
    if (this.res <= tolAbs) return this.confirm(tolAbs);
    if (this.precond === PC_JACOBI) {
      const beta = rzn / this.rz;
      if (!(rzn > 0) || !Number.isFinite(beta)) return BREAKDOWN;
      for (let i = 0; i < n; i++) p[i] = r[i]! * dinv[i]! + beta * p[i]!;
    } else {
      const zz = this.precond === PC_NONE ? r : this.z;
      rzn = this.precond === PC_NONE ? dot(r, r) : this.precondDot(r, this.z);
      const beta = rzn / this.rz;
      if (!(rzn > 0) || !Number.isFinite(beta)) return BREAKDOWN;
      for (let i = 0; i < n; i++) p[i] = zz[i]! + beta * p[i]!;
    }
    this.rz = rzn;
    return RUNNING;
  }

  // ---------- BiCGSTAB with SSOR in split form (the kernel's precond.ts ssor* sweeps) ----------

  /** Σ_{j<i} a_ij v_j in index order. */
  private lowerSum(i: number, v: F): number {
    const a = this.a;
    let acc = 0;
    for (let k = a.rowPtr[i]!; k < this.diagPos[i]!; k++) acc += a.values[k]! * v[a.colIdx[k]!]!;
    return acc;
  }

  /** Σ_{j>i} a_ij v_j from the row's end back. */
  private upperSum(i: number, v: F): number {
    const a = this.a;
    let acc = 0;
    for (let k = a.rowPtr[i + 1]! - 1; k > this.diagPos[i]!; k--) acc += a.values[k]! * v[a.colIdx[k]!]!;
    return acc;
  }

  /** t = Ũ'⁻¹ w. */
  private ssorBackward(w: F, t: F): void {
    for (let i = this.n - 1; i >= 0; i--) t[i] = w[i]! - (this.omega * this.dinv[i]!) * this.upperSum(i, t);
  }

  /** out = t + L̃⁻¹((D/ω) w - K t) (u kept in w-scratch `u`); returns [d·out, out·out] in row order. */
  private ssorForward(w: F, t: F, u: F, out: F, d: F): [number, number] {
    const k2 = 2.0 - this.omega;
    let dd = 0, oo = 0;
    for (let i = 0; i < this.n; i++) {
      const ti = t[i]!;
      const ui = (w[i]! - k2 * ti) - (this.omega * this.dinv[i]!) * this.lowerSum(i, u);
      u[i] = ui;
      out[i] = ti + ui;
      dd += d[i]! * out[i]!;
      oo += out[i]! * out[i]!;
    }
    return [dd, oo];
  }

  private toSplit(): void {
    const r = this.r;
    let hh = 0;
    for (let i = 0; i < this.n; i++) {
      r[i] = (r[i]! - this.lowerSum(i, r)) * (this.omega * this.dinv[i]!);
      hh += r[i]! * r[i]!;
    }
    const h = Math.sqrt(hh);
    this.splitC = h > 0 ? this.res / h : 1;
    this.rh.set(r);
    this.splitPending = false;
  }

  private splitResidual(hh: number, v: F, tolAbs: number): number {
    const h = Math.sqrt(hh);
    const est = this.splitC * h;
    if (!(est <= SPLIT_CHECK * tolAbs)) return est;
    let ee = 0;
    for (let i = 0; i < this.n; i++) {
      const e = (this.a.values[this.diagPos[i]!]! / this.omega) * v[i]! + this.lowerSum(i, v);
      ee += e * e;
    }
    const e = Math.sqrt(ee);
    if (h > 0) this.splitC = e / h;
    return e;
  }

  /** As the kernel's stepBicgstab; with SSOR in split form (ssorBackward / ssorForward). */
  private stepBicgstab(tolAbs: number): number {
    const split = this.precond === PC_SSOR;
    if (split && this.splitPending) this.toSplit();
    const n = this.n, { x, r, p, q, s, t, rh, w } = this;
    const rhoN = dot(rh, r);
    if (rhoN === 0 || !Number.isFinite(rhoN)) {
      if (this.bicgRestarts > 0) return BREAKDOWN;
      this.bicgRestarts++;
      this.restartRecurrences();
      return RUNNING;
    }
    const beta = (rhoN / this.rho) * (this.alpha / this.omg);
    if (!Number.isFinite(beta)) return BREAKDOWN;
    for (let i = 0; i < n; i++) p[i] = r[i]! + beta * (p[i]! - this.omg * q[i]!);
    const ph = this.precond === PC_NONE ? p : this.z;
    let rv: number;
    if (split) {
      this.ssorBackward(p, this.z);
      [rv] = this.ssorForward(p, this.z, w, q, rh);
    } else {
      if (this.precond !== PC_NONE) this.applyPrecond(p, this.z);
      spmv(this.a, ph, q);
      rv = dot(rh, q);
    }
    if (rv === 0 || !Number.isFinite(rv)) return BREAKDOWN;
    this.alpha = rhoN / rv;
    let ss = 0;
    for (let i = 0; i < n; i++) {
      const si = r[i]! - this.alpha * q[i]!;
      s[i] = si;
      ss += si * si;
    }
    const sRes = split ? this.splitResidual(ss, s, tolAbs) : Math.sqrt(ss);
    if (sRes <= tolAbs) {
      for (let i = 0; i < n; i++) x[i] = x[i]! + this.alpha * ph[i]!;
      this.iters++;
      this.res = sRes;
      r.set(s);
      this.rho = rhoN;
      return this.confirm(tolAbs);
    }
    const sh = this.precond === PC_NONE ? s : this.y;
    let ts = 0, t2 = 0;
    if (split) {
      this.ssorBackward(s, sh);
      [ts, t2] = this.ssorForward(s, sh, w, t, s);
    } else {
      if (this.precond !== PC_NONE) this.applyPrecond(s, this.y);
      spmv(this.a, sh, t);
      for (let i = 0; i < n; i++) { ts += s[i]! * t[i]!; t2 += t[i]! * t[i]!; }
    }
    this.tt = t2;
    if (this.tt === 0 || !Number.isFinite(this.tt)) return BREAKDOWN;
    this.omg = ts / this.tt;
    if (this.omg === 0 || !Number.isFinite(this.omg)) return BREAKDOWN;
    let rr = 0;
    for (let i = 0; i < n; i++) {
      x[i] = x[i]! + this.alpha * ph[i]! + this.omg * sh[i]!;
      const ri = s[i]! - this.omg * t[i]!;
      r[i] = ri;
      rr += ri * ri;
    }
    this.rho = rhoN;
    this.bicgRestarts = 0;
    this.iters++;
    this.res = split ? this.splitResidual(rr, r, tolAbs) : Math.sqrt(rr);
    if (this.res <= tolAbs) return this.confirm(tolAbs);
    return RUNNING;
  }

  iterate(maxIters: number, tol: number, stagWindow: number): number {
    if (this.method < 0) return NOT_STARTED;
    if (!this.started) {
      const st = this.start(this.method, this.precond, this.omega);
      if (st !== NOT_STARTED) return st;
    }
    const tolAbs = tol * (this.bnorm > 0 ? this.bnorm : 1.0);
    if (this.bnorm === 0) { this.x.fill(0); this.res = 0; return CONVERGED; }
    if (this.iters === 0 && this.res <= tolAbs) return CONVERGED;
    for (let k = 0; k < maxIters; k++) {
      let st: number;
      switch (this.method) {
        case JACOBI: st = this.stepJacobi(tolAbs); break;
        case GAUSS_SEIDEL: st = this.stepGaussSeidel(tolAbs); break;
        case CG: st = this.stepCg(tolAbs); break;
        case BICGSTAB: st = this.stepBicgstab(tolAbs); break;
        case NEUMANN: st = this.stepNeumann(tolAbs); break;
        default: return NOT_APPLICABLE;
      }
      if (st === RUNNING) st = this.watch(stagWindow);
      if (st !== RUNNING) return st;
    }
    return RUNNING;
  }

  // ---------- single-entry estimates ----------

  private estimateCache(): { rho: number; cmax: number } {
    if (this.cache === undefined) {
      const { rho } = this.analyze(0);
      let m = 0;
      for (let i = 0; i < this.n; i++) { const c = Math.abs(this.b[i]! * this.dinv[i]!); if (c > m) m = c; }
      this.cache = { rho, cmax: m };
    }
    return this.cache;
  }

  estimatePush(i: number, eps: number, maxPushes: number): { value: number; bound: number; work: number } {
    const { rho, cmax } = this.estimateCache();
    const a = this.a, n = this.n;
    const big = rho < 1 ? cmax / (1 - rho) : Infinity;
    const er = new Float64Array(n);
    const inQueue = new Uint8Array(n), seen = new Uint8Array(n);
    const queue: number[] = [i];
    const touched: number[] = [i];
    er[i] = 1; inQueue[i] = 1; seen[i] = 1;
    let head = 0, theta = 0.25, r1 = 1, est = 0, pushes = 0;
    while (r1 * big > eps && pushes < maxPushes) {
      if (head === queue.length) {
        theta *= 0.25;
        if (theta < 1e-300) break;
        for (const c of touched) if (Math.abs(er[c]!) > theta && !inQueue[c]) { inQueue[c] = 1; queue.push(c); }
        if (head === queue.length) break;
        continue;
      }
      const j = queue[head++]!;
      inQueue[j] = 0;
      const rj = er[j]!;
      if (Math.abs(rj) <= theta) continue;
      er[j] = 0;
      r1 -= Math.abs(rj);
      const dj = this.dinv[j]!;
      est += rj * (this.b[j]! * dj);
      const f = -rj * dj;
      for (let k = a.rowPtr[j]!; k < a.rowPtr[j + 1]!; k++) {
        const c = a.colIdx[k]!;
        if (c === j) continue;
        const old = er[c]!;
        const nv = old + f * a.values[k]!;
        er[c] = nv;
        r1 += Math.abs(nv) - Math.abs(old);
        if (!seen[c]) { seen[c] = 1; touched.push(c); }
        if (!inQueue[c] && Math.abs(nv) > theta) { inQueue[c] = 1; queue.push(c); }
      }
      pushes++;
    }
    let left = 0;
    for (const c of touched) left += Math.abs(er[c]!);
    return { value: est, bound: left === 0 ? 0 : left * big, work: pushes };
  }

  estimateWalk(i: number, eps: number, walks: number, seed: number, delta: number): { value: number; bound: number; work: number } {
    const { rho, cmax } = this.estimateCache();
    if (!(rho < 1)) return { value: NaN, bound: Infinity, work: 0 };
    const a = this.a;
    const big = cmax / (1 - rho);
    let steps = 0, tail = big * rho;
    while (tail > 0.5 * eps && steps < 100000) { tail *= rho; steps++; }
    const next = mulberry(seed);
    let sum = 0, work = 0;
    for (let w = 0; w < walks; w++) {
      let j = i, wt = 1, acc = 0;
      for (let step = 0; step <= steps; step++) {
        const dj = this.dinv[j]!;
        acc += wt * (this.b[j]! * dj);
        if (step === steps) break;
        const start = a.rowPtr[j]!, end = a.rowPtr[j + 1]!;
        let sj = 0;
        for (let k = start; k < end; k++) if (a.colIdx[k] !== j) sj += Math.abs(a.values[k]! * dj);
        if (sj === 0) break;
        const u = next() * sj;
        let cum = 0, pick = -1, mjk = 0;
        for (let k = start; k < end; k++) {
          const c = a.colIdx[k]!;
          if (c === j) continue;
          const m = -a.values[k]! * dj;
          cum += Math.abs(m);
          pick = c; mjk = m;
          if (u < cum) break;
        }
        wt *= mjk < 0 ? -sj : sj;
        j = pick;
        work++;
      }
      sum += acc;
    }
    return { value: sum / walks, bound: tail + big * Math.sqrt((2 * Math.log(2 / delta)) / walks), work };
  }

  // ---------- AMG access ----------

  applyPreconditioner(src: Float64Array): Float64Array {
    const out = new Float64Array(this.n);
    this.applyPrecond(src, out);
    return out;
  }

  amgReset(): void { this.amg = undefined; }

  amgSetups(): { full: number; rebuild: number } { return { full: this.amgFull, rebuild: this.amgRebuilds }; }

  amgHierarchy(): AmgLevelInfo[] {
    if (this.amg === undefined) return [];
    return this.amg.levels.map((L) => ({
      n: L.n,
      a: { rowPtr: L.rp.slice(), colIdx: L.ci.slice(), values: L.va.slice() },
      ...(L.agg !== undefined ? { agg: L.agg.slice(), nc: L.nc!, p: { rowPtr: L.pp!.slice(), colIdx: L.pc!.slice(), values: Float64Array.from(L.pv!) } } : {}),
    }));
  }

  free(): void { /* garbage collected */ }
}
