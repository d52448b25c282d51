// Session kernel: one instance holds one matrix A (CSR), b, x and the state of the running
// method, so the host can run bounded slices of iterations (`iterate`) between Kafka polls.
// Statuses, method and preconditioner codes are mirrored in wasm/src/codes.ts.
import { reserve, pregrow, ldf, stf, ldi, sti, heapTop } from './memory';
import { spmv, spmvDot, rowDot, residual, residualRows, validate, rowStats, statsRho, statsFlags, diagInverse, find } from './csr';
import { ilu0Factor, iluPattern, iluSolve, iluForward, iluBackward, cgUpdateForward, ssorApply, jacobiApply,
  ssorToSplit, ssorLowerSquares, ssorBackward, ssorBackwardP, ssorForward, ssorOutSquares } from './precond';
import { pushEstimate, walkEstimate } from './estimate';
import { amgSetup, amgRebuild, amgApply } from './amg';
export { amgLevels, amgField, amgBytes, amgCycleFrom } from './amg';
export { estimateBound, estimateWork } from './estimate';

// statuses
const RUNNING = 0, CONVERGED = 1, BREAKDOWN = 2, STAGNATED = 3, DIVERGED = 4, NOT_APPLICABLE = 5, NOT_STARTED = 6;
// methods
const JACOBI = 0, GAUSS_SEIDEL = 1, CG = 2, BICGSTAB = 3, NEUMANN = 4;
// preconditioners
const PC_NONE = 0, PC_JACOBI = 1, PC_ILU0 = 2, PC_SSOR = 3, PC_MILU0 = 4, PC_AMG = 5;

const DIVERGENCE_FACTOR: f64 = 1e8;

export let n: i32 = 0;
export let nnz: i32 = 0;
export let rp: usize = 0;
export let ci: usize = 0;
export let va: usize = 0;
export let b: usize = 0;
export let x: usize = 0;
export let dinv: usize = 0;
export let diagPos: usize = 0;
let r: usize = 0, p: usize = 0, q: usize = 0, z: usize = 0, s: usize = 0, t: usize = 0;
let rh: usize = 0, y: usize = 0, w: usize = 0, xb: usize = 0, scratch: usize = 0;
let udinv: usize = 0;
let lp: usize = 0, lc: usize = 0, lv: usize = 0, up: usize = 0, uc: usize = 0, uv: usize = 0;
let luRelax: f64 = -1;
let stage: usize = 0, stageCap: usize = 0;
const STAGE_INITIAL: usize = 1 << 16;

let zeroDiag: i32 = 0;
let iluDirty = true;
// AMG: built by start(); its values follow A (amgRebuild) until amgReset() or a new A.
let amgBuilt = false, amgValuesDirty = false;
let amgFull: i32 = 0, amgRebuilds: i32 = 0;
export function amgReset(): void { amgBuilt = false; }
export function amgFullSetups(): i32 { return amgFull; }
export function amgValueRebuilds(): i32 { return amgRebuilds; }
let method = -1, precond = PC_NONE;
let omegaSsor: f64 = 1.0;
let started = false;
let iters: i32 = 0;
let bnorm: f64 = 0, res: f64 = 0, initRes: f64 = 0;
let ckRes: f64 = 0, ckIter: i32 = 0, lastFailedTrue: f64 = 0;
let rho: f64 = 0, alpha: f64 = 0, omg: f64 = 0, rz: f64 = 0;
let tt: f64 = 0;
// CG's direction update p = z + βp, applied (updateP) at the start of the next step.
let pPending = false, pFresh = false, pBeta: f64 = 0;
let bicgRestarts: i32 = 0;
// BiCGSTAB: r̂·r of the current r, summed (in row order, as dot() sums it) by the pass that wrote
// r, so the next step needs no pass of its own for it; false after a (re)start.
let rhoNext: f64 = 0, rhoNextValid = false;
// BiCGSTAB with SSOR runs in split form on r̂ = L̃⁻¹ r (precond.ts): r holds b - Ax after a
// (re)start until the first step turns it into r̂ (splitPending), so a start that is already
// converged still has the true residual in r. ||r|| ≈ splitC ||r̂||, the ratio last measured; within
// SPLIT_CHECK × tol the estimate is replaced by ||L̃ r̂|| itself (a sweep over A's lower half).
let splitPending = false, splitC: f64 = 1;
const SPLIT_CHECK: f64 = 10;
// CG with ILU: the residual before the last iteration (0 after a (re)start), and whether the
// forward sweep was left out of the r update because convergence was predicted.
let prevRes: f64 = 0;
let lForwardPending = false;
let gsNextCheck: i32 = 0, gsPrevRes: f64 = 0, gsPrevIter: i32 = 0;

export function init(rows: i32, nonzeros: i32): i32 {
  if (n != 0 || rows <= 0 || nonzeros < 0) return -2;
  const vb = (<usize>rows) << 3;
  // One growth for all of it: what is reserved here, the staging area, and the ILU factors start()
  // may add (split rows: n+1 pointers twice, at most nnz columns and f32 values, n pivots), with
  // 16 bytes of alignment per array.
  const rows1 = (<usize>rows) + 1;
  pregrow((rows1 << 2) + (<usize>nonzeros) * 12 + ((<usize>rows) << 2) + 13 * vb + STAGE_INITIAL +
    2 * (rows1 << 2) + (<usize>nonzeros) * 8 + vb + 32 * 16);
  rp = reserve(((<usize>rows) + 1) << 2);
  ci = reserve((<usize>nonzeros) << 2);
  va = reserve((<usize>nonzeros) << 3);
  diagPos = reserve((<usize>rows) << 2);
  b = reserve(vb); x = reserve(vb); dinv = reserve(vb);
  r = reserve(vb); p = reserve(vb); q = reserve(vb); z = reserve(vb); s = reserve(vb);
  t = reserve(vb); rh = reserve(vb); y = reserve(vb); w = reserve(vb); xb = reserve(vb);
  scratch = reserve(16);
  // A staging area that holds a cost update of a few thousand entries without growing memory.
  stage = reserve(STAGE_INITIAL); stageCap = stage == 0 ? 0 : STAGE_INITIAL;
  if (rp == 0 || ci == 0 || va == 0 || diagPos == 0 || b == 0 || x == 0 || dinv == 0 || r == 0 ||
      p == 0 || q == 0 || z == 0 || s == 0 || t == 0 || rh == 0 || y == 0 || w == 0 || xb == 0 ||
      scratch == 0) return -1;
  n = rows; nnz = nonzeros;
  return 0;
}

/** A staging area for host ↔ kernel batches (indices, values); grows on demand. */
/** The end of what this instance reserved: a pooled memory is zeroed up to here before reuse. */
export function heapEnd(): usize { return heapTop(); }

export function stagePtr(bytes: usize): usize {
  if (bytes > stageCap) {
    const cap = bytes > stageCap * 2 ? bytes : stageCap * 2;
    const pnew = reserve(cap);
    if (pnew == 0) return 0;
    stage = pnew; stageCap = cap;
  }
  return stage;
}

/** Host programming errors (calling a kernel before init) trap through env.abort, which throws. */
function need(): void { if (n == 0) abort("solver kernel used before init"); }

export function xPtr(): usize { return x; }
export function badRow(): i32 { return ldi(scratch, 0); }

/** Validates the CSR the host wrote and derives the diagonal. Returns 0 or a negative code. */
export function prepare(): i32 {
  need();
  const code = validate(n, nnz, rp, ci, va, diagPos, scratch);
  if (code != 0) return code;
  zeroDiag = diagInverse(n, va, diagPos, dinv);
  statsValid = true;
  iluDirty = true;
  amgBuilt = false;
  patternSymmetric = false;
  invalidate();
  resetEstimateCache();
  return 0;
}

export function zeroDiagonalRows(): i32 { return zeroDiag; }

/** Entries in A's longest row. */
export function maxRowNnz(): i32 {
  need();
  let m = 0;
  for (let i = 0; i < n; i++) { const len = ldi(rp, i + 1) - ldi(rp, i); if (len > m) m = len; }
  return m;
}

/** After the host writes b or x directly: the running method restarts (warm) from x. */
export function invalidate(): void { started = false; wValid = false; resetEstimateCache(); }

// w = b - Ax exactly as `residual` computes it, for the current x and b: left by a confirmed
// convergence (or trueResidual), kept row by row through updateB, so a warm restart after a
// cost update starts from it instead of a full SpMV. Anything else that moves x, A or w drops it.
let wValid = false;

// ---------- analysis ----------

let anRho: f64 = 0;
export function analysisRho(): f64 { return anRho; }

// statsRho / statsFlags (csr.ts) describe A's current values: validate() left them, and updateA
// drops them (rowStats() recomputes them when analyze() is next asked).
let statsValid = false;

/**
 * Bit flags: 1 symmetric (|a_ij - a_ji| ≤ symTol·max), 2 positive diagonal, 4 weakly diagonally
 * dominant (every row |a_ii| ≥ Σ|a_ij|), 8 strictly diagonally dominant, 16 no positive
 * off-diagonal entry. analysisRho() gets
 * max_i Σ_{j≠i}|a_ij|/|a_ii| (Infinity when a diagonal is zero).
 */
export function analyze(symTol: f64): i32 {
  if (!statsValid) { rowStats(n, rp, va, diagPos); statsValid = true; }
  const sym = symmetric(symTol);
  const worst = statsRho;
  anRho = worst;
  patternSymmetric = sym;
  return (sym ? 1 : 0) | statsFlags | (worst <= 1 ? 4 : 0) | (worst < 1 ? 8 : 0);
}

/**
 * |a_ij - a_ji| ≤ symTol·max(|a_ij|, |a_ji|) for every pair. By merging, not searching: cur[j]
 * walks row j's lower part as rows i < j reach it (the scratch vector w holds the cursors).
 * Entries it skips, or never reaches, have no transposed partner. Stops at the first pair that
 * differs (a nonsymmetric A costs a few rows).
 */
function symmetric(symTol: f64): bool {
  const cur = w;
  wValid = false;
  for (let i = 0; i < n; i++) sti(cur, i, ldi(rp, i));
  for (let i = 0; i < n; i++) {
    const di = ldi(diagPos, i);
    const end = ldi(rp, i + 1);
    const lowEnd = di >= 0 ? di : end;
    for (let k = ldi(cur, i); k < lowEnd; k++) if (ldi(ci, k) < i && ldf(va, k) != 0) return false;
    for (let k = di >= 0 ? di + 1 : ldi(rp, i); k < end; k++) {
      const j = ldi(ci, k);
      if (j <= i) continue;
      const v = ldf(va, k);
      let m = ldi(cur, j);
      const mEnd = ldi(rp, j + 1);
      while (m < mEnd && ldi(ci, m) < i) { if (ldf(va, m) != 0) return false; m++; }
      let u: f64 = 0;
      if (m < mEnd && ldi(ci, m) == i) { u = ldf(va, m); m++; }
      sti(cur, j, m);
      if (Math.abs(v - u) > symTol * Math.max(Math.abs(v), Math.abs(u))) return false;
    }
  }
  return true;
}

// ---------- updates (cost deltas) ----------

// Set by analyze() when every nonzero a_ji has its partner a_ij: the rows whose residual a change
// of x_i moves are then the columns of row i. Dropped when A changes.
let patternSymmetric = false;

/** b_j - (A x)_j, summed exactly as `residual` sums row j. */
function rowResidual(j: i32): f64 {
  const k = ldi(rp, j);
  return ldf(b, j) - rowDot(va + ((<usize>k) << 3), ci + ((<usize>k) << 2), ci + ((<usize>ldi(rp, j + 1)) << 2), x);
}

/** Σ r_j² over the rows a change of x_i moves (row i's columns, the diagonal included). */
function localSquares(i: i32): f64 {
  let acc: f64 = 0;
  const end = ldi(rp, i + 1);
  for (let k = ldi(rp, i); k < end; k++) { const rj = rowResidual(ldi(ci, k)); acc += rj * rj; }
  return acc;
}

/**
 * b[idx[k]] = vals[k]; the host has range-checked idx and finiteness of vals.
 * A cost update leaves its residual on the changed rows only. When the pattern is symmetric and
 * the diagonal nonzero, each changed row gets one local relaxation x_i += r_i / a_ii, kept only if
 * it lowers the residual on the rows it moves: for the price of a few rows it removes about half
 * of what the Krylov restart would otherwise start from (bench/solver: 8 → 7 CG+MILU(0)
 * iterations after a 0.1% update of b at n=1e6).
 */
export function updateB(count: i32, idx: usize, vals: usize): void {
  for (let k = 0; k < count; k++) stf(b, ldi(idx, k), ldf(vals, k));
  const relax = patternSymmetric && zeroDiag == 0;
  if (relax) {
    for (let k = 0; k < count; k++) {
      const i = ldi(idx, k);
      const ri = rowResidual(i);
      if (ri == 0) continue;
      const before = localSquares(i);
      const old = ldf(x, i);
      stf(x, i, old + ri * ldf(dinv, i));
      if (localSquares(i) < before) xZero = false; else stf(x, i, old);
    }
  }
  if (wValid) {
    // w stays b - Ax row for row, recomputed by the same sums as a full residual.
    for (let k = 0; k < count; k++) {
      const i = ldi(idx, k);
      if (relax) {
        const end = ldi(rp, i + 1);
        for (let m = ldi(rp, i); m < end; m++) { const j = ldi(ci, m); stf(w, j, rowResidual(j)); }
      } else stf(w, i, rowResidual(i));
    }
  }
  started = false;
  resetEstimateCache();
}

/**
 * A[row,col]: old → new, applied only where the current value equals `old` bit for bit.
 * codes[k]: 0 applied, 1 old-value mismatch (cur[k] gets the current value), 2 not in the
 * sparsity pattern. Returns how many were applied.
 */
export function updateA(count: i32, rows: usize, cols: usize, olds: usize, news: usize, codes: usize, cur: usize): i32 {
  let applied = 0;
  for (let k = 0; k < count; k++) {
    const i = ldi(rows, k);
    const j = ldi(cols, k);
    const m = find(rp, ci, i, j);
    if (m < 0) { sti(codes, k, 2); stf(cur, k, 0); continue; }
    const v = ldf(va, m);
    stf(cur, k, v);
    if (v != ldf(olds, k)) { sti(codes, k, 1); continue; }
    stf(va, m, ldf(news, k));
    sti(codes, k, 0);
    applied++;
  }
  if (applied > 0) {
    patternSymmetric = false;
    statsValid = false;
    zeroDiag = diagInverse(n, va, diagPos, dinv);
    iluDirty = true;
    amgValuesDirty = true;
    invalidate();
  }
  return applied;
}

// x is known to be all zeros (a fresh session): hybrid's backup of it then needs no copy, and a
// restore is a fill, so a cold solve does not fault in the backup vector's pages at all.
let xZero = true, xbZero = false;

/** After the host writes x directly. */
export function xWritten(): void { xZero = false; invalidate(); }

export function backupX(): void {
  xbZero = xZero;
  if (!xZero) memory.copy(xb, x, (<usize>n) << 3);
}
export function restoreX(): void {
  if (xbZero) memory.fill(x, 0, (<usize>n) << 3); else memory.copy(x, xb, (<usize>n) << 3);
  xZero = xbZero;
  invalidate();
}

export function residualRowsAt(count: i32, rows: usize, out: usize): f64 {
  return residualRows(count, rows, out, rp, ci, va, x, b);
}

function norm2(v: usize): f64 {
  let acc: f64 = 0;
  for (let i = 0; i < n; i++) { const e = ldf(v, i); acc += e * e; }
  return Math.sqrt(acc);
}

// ||b||², summed in index order as norm2 sums it, by the passes below that read b anyway.
let bSquares: f64 = 0;

/** ||v||² summed in index order (as `residual` sums it); ||b||² into bSquares. */
function squaresAndB(v: usize): f64 {
  let acc: f64 = 0, bb: f64 = 0;
  for (let i = 0; i < n; i++) {
    const e = ldf(v, i); acc += e * e;
    const bi = ldf(b, i); bb += bi * bi;
  }
  bSquares = bb;
  return acc;
}

/** r = b - A x as `residual` computes it; returns ||r||², ||b||² into bSquares. */
function residualAndB(dst: usize): f64 {
  let rr: f64 = 0, bb: f64 = 0;
  // rp[0] = 0 (validated); o is the byte offset of row i in the vectors.
  let pc = ci, pv = va, pr = rp + 4;
  const end = (<usize>n) << 3;
  for (let o: usize = 0; o < end; o += 8, pr += 4) {
    const pe = ci + ((<usize>load<i32>(pr)) << 2);
    const acc = rowDot(pv, pc, pe, x);
    pv += (pe - pc) << 1; pc = pe;
    const bi = load<f64>(b + o);
    const ri = bi - acc;
    store<f64>(dst + o, ri);
    rr += ri * ri;
    bb += bi * bi;
  }
  bSquares = bb;
  return rr;
}

/** ||b - A x|| / ||b|| (absolute ||b - Ax|| when b = 0), into the scratch vector w. */
export function trueResidual(): f64 {
  const rr = Math.sqrt(residual(n, rp, ci, va, x, b, w));
  wValid = true;
  const bn = norm2(b);
  return bn > 0 ? rr / bn : rr;
}

// ---------- methods ----------

export function iterations(): i32 { return iters; }
/** The running method's current residual estimate, relative to ||b||. */
export function residualNorm(): f64 { return bnorm > 0 ? res / bnorm : res; }

function applyPrecond(src: usize, dst: usize): void {
  if (precond == PC_JACOBI) jacobiApply(n, dinv, src, dst);
  else if (precond == PC_ILU0 || precond == PC_MILU0) iluSolve(n, lp, lc, lv, up, uc, uv, udinv, src, dst);
  else if (precond == PC_SSOR) ssorApply(n, rp, ci, va, diagPos, dinv, omegaSsor, src, dst);
  else if (precond == PC_AMG) amgApply(src, dst);
  else memory.copy(dst, src, (<usize>n) << 3);
}

function dot(u: usize, v: usize): f64 {
  let acc: f64 = 0;
  for (let i = 0; i < n; i++) acc += ldf(u, i) * ldf(v, i);
  return acc;
}

/** dst = M⁻¹ src; returns src·dst (fused into the backward sweep for ILU). */
function precondDot(src: usize, dst: usize): f64 {
  if (precond == PC_ILU0 || precond == PC_MILU0) return iluSolve(n, lp, lc, lv, up, uc, uv, udinv, src, dst);
  applyPrecond(src, dst);
  return dot(src, dst);
}

/** (Re)starts Krylov recurrences from r = b - A x, which the caller has just computed. */
function restartRecurrences(): void {
  pPending = false; pFresh = false;
  prevRes = 0;
  if (method == CG) {
    rz = precondDot(r, z);
    pFresh = true; pPending = true; // p = z, written at the start of the next step
  } else if (method == BICGSTAB) {
    rhoNextValid = false;
    if (!splitPending) memory.copy(rh, r, (<usize>n) << 3); // else toSplit() copies r̂
    memory.fill(p, 0, (<usize>n) << 3);
    memory.fill(q, 0, (<usize>n) << 3);
    rho = 1; alpha = 1; omg = 1;
  }
}

/**
 * Starts `m` with preconditioner `pc` from the current x (a warm start when x holds a previous
 * solution). Returns NOT_STARTED on success, NOT_APPLICABLE if the method needs a nonzero
 * diagonal it lacks or ILU(0) meets a zero pivot (badRow() names the row).
 */
export function start(m: i32, pc: i32, omega: f64): i32 {
  need();
  method = m; precond = pc; omegaSsor = omega;
  started = false;
  rhoNextValid = false;
  const needsDiag = m == JACOBI || m == GAUSS_SEIDEL || m == NEUMANN || pc == PC_JACOBI || pc == PC_SSOR;
  if (needsDiag && zeroDiag > 0) return NOT_APPLICABLE;
  if (pc == PC_AMG) {
    if (zeroDiag > 0) return NOT_APPLICABLE;
    let code = 0;
    // q is dead until the recurrences restart below: the setup's scratch.
    if (!amgBuilt) { code = amgSetup(n, nnz, rp, ci, va, q); amgFull++; amgValuesDirty = false; }
    else if (amgValuesDirty) { code = amgRebuild(); amgRebuilds++; amgValuesDirty = false; }
    if (code != 0) { amgBuilt = false; return code < 0 ? -1 : NOT_APPLICABLE; }
    amgBuilt = true;
  }
  if (pc == PC_ILU0 || pc == PC_MILU0) {
    if (udinv == 0) {
      // Rows are sorted, so a row's lower part ends at its diagonal; only rows without one are scanned.
      let nl = 0, nd = 0;
      for (let i = 0; i < n; i++) {
        const d = ldi(diagPos, i);
        if (d >= 0) { nd++; nl += d - ldi(rp, i); continue; }
        for (let k = ldi(rp, i); k < ldi(rp, i + 1); k++) if (ldi(ci, k) < i) nl++;
      }
      const nu = nnz - nl - nd;
      const ints = ((<usize>n) + 1) << 2;
      udinv = reserve((<usize>n) << 3);
      lp = reserve(ints); up = reserve(ints);
      lc = reserve((<usize>nl) << 2); uc = reserve((<usize>nu) << 2);
      lv = reserve((<usize>nl) << 2); uv = reserve((<usize>nu) << 2); // f32 values
      if (udinv == 0 || lp == 0 || up == 0 || lc == 0 || uc == 0 || lv == 0 || uv == 0) { udinv = 0; return -1; }
      iluPattern(n, rp, ci, diagPos, lp, lc, up, uc);
    }
    const relax: f64 = pc == PC_MILU0 ? omega : 0;
    if (iluDirty || relax != luRelax) {
      const bad = ilu0Factor(n, rp, ci, va, diagPos, relax, lp, lc, lv, up, uc, uv, udinv);
      if (bad >= 0) { sti(scratch, 0, bad); iluDirty = true; return NOT_APPLICABLE; }
      iluDirty = false; luRelax = relax;
    }
  }
  iters = 0;
  bicgRestarts = 0;
  if (wValid) {
    // r = b - Ax is in w already: the buffers trade places instead of a copy (w is then stale;
    // iterate() copies r back if the warm start is converged as it stands).
    const tmp = r; r = w; w = tmp;
    wValid = false;
    res = Math.sqrt(squaresAndB(r));
  } else if (xZero) {
    // A cold start: every row sums to +0 against x = 0 (a sum from +0 never turns -0, and A is
    // finite), so b - Ax is b bit for bit, without the pass over A.
    memory.copy(r, b, (<usize>n) << 3);
    res = Math.sqrt(squaresAndB(r));
  } else res = Math.sqrt(residualAndB(r));
  bnorm = Math.sqrt(bSquares);
  initRes = res; ckRes = res; ckIter = 0; lastFailedTrue = 0;
  gsNextCheck = 1; gsPrevRes = res; gsPrevIter = 0;
  splitPending = m == BICGSTAB && pc == PC_SSOR; // r = b - Ax until the first step
  restartRecurrences();
  started = true;
  return NOT_STARTED;
}

/** Divergence / stagnation bookkeeping after each iteration; RUNNING if neither applies. */
function watch(stagWindow: i32): i32 {
  if (!isFinite(res) || res > DIVERGENCE_FACTOR * (initRes > bnorm ? initRes : bnorm)) return DIVERGED;
  if (res < 0.99 * ckRes) { ckRes = res; ckIter = iters; }
  else if (iters - ckIter > stagWindow) return STAGNATED;
  return RUNNING;
}

/**
 * The recurrence says converged: confirm with the true residual. If it is not there yet, resume
 * from the true residual; if that no longer improves, the tolerance is out of reach.
 */
function confirm(tolAbs: f64): i32 {
  const tr = Math.sqrt(residual(n, rp, ci, va, x, b, w));
  if (tr <= tolAbs) { res = tr; wValid = true; return CONVERGED; }
  if (lastFailedTrue > 0 && tr > 0.5 * lastFailedTrue) { res = tr; return STAGNATED; }
  lastFailedTrue = tr;
  const tmp = r; r = w; w = tmp; // resume from the true residual; w is not kept (wValid false)
  res = tr;
  splitPending = method == BICGSTAB && precond == PC_SSOR;
  restartRecurrences();
  return RUNNING;
}

function stepJacobi(tolAbs: f64): i32 {
  // One fused pass: residual of the current x, and the next iterate into z.
  let rr: f64 = 0;
  let pc = ci, pv = va, pr = rp + 4;
  const end = (<usize>n) << 3;
  for (let o: usize = 0; o < end; o += 8, pr += 4) {
    const pe = ci + ((<usize>load<i32>(pr)) << 2);
    const acc = rowDot(pv, pc, pe, x);
    pv += (pe - pc) << 1; pc = pe;
    const ri = load<f64>(b + o) - acc;
    rr += ri * ri;
    store<f64>(z + o, load<f64>(x + o) + ri * load<f64>(dinv + o));
  }
  res = Math.sqrt(rr);
  if (res <= tolAbs) return CONVERGED; // exact residual of x itself: keep x
  if (!isFinite(res)) return DIVERGED;
  const tmp = x; x = z; z = tmp;
  iters++;
  return RUNNING;
}

function stepGaussSeidel(tolAbs: f64): i32 {
  for (let i = 0; i < n; i++) {
    let acc = ldf(b, i);
    const end = ldi(rp, i + 1);
    for (let k = ldi(rp, i); k < end; k++) {
      const j = ldi(ci, k);
      if (j != i) acc -= ldf(va, k) * ldf(x, j);
    }
    stf(x, i, acc * ldf(dinv, i));
  }
  iters++;
  if (iters < gsNextCheck) return RUNNING;
  // The residual costs a second pass, so it is checked on a schedule predicted from the
  // observed contraction rate rather than after every sweep.
  res = Math.sqrt(residual(n, rp, ci, va, x, b, r));
  if (res <= tolAbs) return CONVERGED;
  let gap = 1;
  if (res < gsPrevRes && res > 0) {
    const rate = Math.pow(res / gsPrevRes, 1.0 / <f64>(iters - gsPrevIter));
    const remaining = Math.log(tolAbs / res) / Math.log(rate);
    gap = remaining > 64 ? 64 : (remaining < 1 ? 1 : <i32>remaining);
  }
  gsPrevRes = res; gsPrevIter = iters;
  gsNextCheck = iters + gap;
  return RUNNING;
}

function stepNeumann(tolAbs: f64): i32 {
  // Next series term D⁻¹ r_k, added to x; r_{k+1} = r_k - A D⁻¹ r_k.
  for (let i = 0; i < n; i++) {
    const ti = ldf(r, i) * ldf(dinv, i);
    stf(z, i, ti);
    stf(x, i, ldf(x, i) + ti);
  }
  let rr: f64 = 0;
  let pc = ci, pv = va, pr = rp + 4;
  const end = (<usize>n) << 3;
  for (let o: usize = 0; o < end; o += 8, pr += 4) {
    const pe = ci + ((<usize>load<i32>(pr)) << 2);
    const acc = rowDot(pv, pc, pe, z);
    pv += (pe - pc) << 1; pc = pe;
    const ri = load<f64>(r + o) - acc;
    store<f64>(r + o, ri);
    rr += ri * ri;
  }
  iters++;
  res = Math.sqrt(rr);
  if (res <= tolAbs) return confirm(tolAbs);
  return RUNNING;
}

/**
 * p = z + βp (z = D⁻¹r for Jacobi, r without a preconditioner; p = z when fresh), two lanes at a
 * time: each f64x2 lane is the scalar multiply and add (WASM SIMD has no fused multiply-add), so
 * the values are the scalar ones. A pass of its own before the SpMV: fusing it into the SpMV,
 * each p_j just ahead of the first row that reads it, saved a read of p but cost more than that
 * (q = Ap with p·q at n=1e5: 472 µs fused vs 362 µs split, n=1e6: 8.2 vs 7.6 ms).
 */
function updateP(beta: f64, fresh: bool): void {
  if (fresh && precond != PC_JACOBI && precond != PC_NONE) {
    // p = z: the buffers trade places instead of a copy. The step overwrites all of z (the
    // preconditioner solve) before it reads z again.
    const tmp = p; p = z; z = tmp;
    return;
  }
  const jac = precond == PC_JACOBI;
  const src = precond == PC_NONE ? r : z;
  const bv = f64x2.splat(beta);
  const end = (<usize>n) << 3;
  let o: usize = 0;
  for (; o + 16 <= end; o += 16) {
    const zh = jac ? f64x2.mul(v128.load(r + o), v128.load(dinv + o)) : v128.load(src + o);
    v128.store(p + o, fresh ? zh : f64x2.add(zh, f64x2.mul(bv, v128.load(p + o))));
  }
  if (o < end) {
    const zh = jac ? load<f64>(r + o) * load<f64>(dinv + o) : load<f64>(src + o);
    store<f64>(p + o, fresh ? zh : zh + beta * load<f64>(p + o));
  }
}

function stepCg(tolAbs: f64): i32 {
  if (pPending) updateP(pBeta, pFresh);
  const pq = spmvDot(n, rp, ci, va, p, q, p);
  pPending = false; pFresh = false;
  if (!(pq > 0) || !isFinite(pq)) return BREAKDOWN; // A is not SPD (or p vanished)
  const a = rz / pq;
  if (!isFinite(a)) return BREAKDOWN;
  const ilu = precond == PC_ILU0 || precond == PC_MILU0;
  let rr: f64 = 0, rzn: f64 = 0;
  if (precond == PC_JACOBI) {
    for (let i = 0; i < n; i++) {
      stf(x, i, ldf(x, i) + a * ldf(p, i));
      const ri = ldf(r, i) - a * ldf(q, i);
      stf(r, i, ri);
      rr += ri * ri;
      rzn += ri * (ri * ldf(dinv, i));
    }
  } else if (ilu && !(prevRes > 0 && res * (res / prevRes) <= tolAbs)) {
    rr = cgUpdateForward(n, a, x, p, r, q, lp, lc, lv, z);
  } else {
    // Plain update; with ILU, this iteration is predicted (from the last contraction) to
    // converge, when the fused forward sweep would be thrown away: it runs after, if needed.
    for (let i = 0; i < n; i++) {
      stf(x, i, ldf(x, i) + a * ldf(p, i));
      const ri = ldf(r, i) - a * ldf(q, i);
      stf(r, i, ri);
      rr += ri * ri;
    }
    lForwardPending = ilu;
  }
  iters++;
  prevRes = res;
  res = Math.sqrt(rr);
  if (res <= tolAbs) { lForwardPending = false; return confirm(tolAbs); }
  if (lForwardPending) { iluForward(n, lp, lc, lv, r, z); lForwardPending = false; }
  if (ilu) rzn = iluBackward(n, up, uc, uv, udinv, r, z);
  else if (precond == PC_NONE) rzn = dot(r, r);
  else if (precond != PC_JACOBI) rzn = precondDot(r, z);
  const beta = rzn / rz;
  if (!(rzn > 0) || !isFinite(beta)) return BREAKDOWN; // preconditioner not SPD
  pBeta = beta; pPending = true;
  rz = rzn;
  return RUNNING;
}

/** t = A u; returns s·t and leaves t·t in `tt`. */
function spmvDot2(u: usize, out: usize, sv: usize): f64 {
  let st: f64 = 0, t2: f64 = 0;
  let pc = ci, pv = va, pr = rp + 4;
  const end = (<usize>n) << 3;
  for (let o: usize = 0; o < end; o += 8, pr += 4) {
    const pe = ci + ((<usize>load<i32>(pr)) << 2);
    const acc = rowDot(pv, pc, pe, u);
    pv += (pe - pc) << 1; pc = pe;
    store<f64>(out + o, acc);
    st += load<f64>(sv + o) * acc;
    t2 += acc * acc;
  }
  tt = t2;
  return st;
}

/** r (= b - Ax, ||r|| = res) ← r̂ = L̃⁻¹ r, the shadow residual r̂ too; splitC from the two norms. */
function toSplit(): void {
  const h = Math.sqrt(ssorToSplit(n, rp, ci, va, diagPos, dinv, omegaSsor, r));
  splitC = h > 0 ? res / h : 1;
  memory.copy(rh, r, (<usize>n) << 3);
  splitPending = false;
}

/** ||L̃ v̂|| estimated from ||v̂||² (hh) as splitC ||v̂||; near tol, computed (and splitC updated). */
function splitResidual(hh: f64, v: usize, tolAbs: f64): f64 {
  const h = Math.sqrt(hh);
  const est = splitC * h;
  if (!(est <= SPLIT_CHECK * tolAbs)) return est;
  const e = Math.sqrt(ssorLowerSquares(n, rp, ci, va, diagPos, omegaSsor, v));
  if (h > 0) splitC = e / h;
  return e;
}

/**
 * With SSOR, BiCGSTAB runs on L̃⁻¹ A Ũ'⁻¹ y = L̃⁻¹ b, x = Ũ'⁻¹ y (split form): each operator
 * application is a backward sweep t = Ũ'⁻¹ w and a forward one, and since x moves by α Ũ'⁻¹p +
 * ω Ũ'⁻¹s, the backward sweeps' outputs (z, y) update x directly (y itself is never formed). Per
 * iteration about two SpMVs' worth, as with Jacobi, at the iteration count of SSOR.
 */
function stepBicgstab(tolAbs: f64): i32 {
  const split = precond == PC_SSOR;
  if (split && splitPending) toSplit();
  const rhoN = rhoNextValid ? rhoNext : dot(rh, r);
  rhoNextValid = false;
  if (rhoN == 0 || !isFinite(rhoN)) {
    // r̂ ⟂ r: restart the shadow space from the current residual, once per breakdown.
    if (bicgRestarts > 0) return BREAKDOWN;
    bicgRestarts++;
    restartRecurrences();
    return RUNNING;
  }
  const beta = (rhoN / rho) * (alpha / omg);
  if (!isFinite(beta)) return BREAKDOWN;
  // Jacobi: each pass that writes a vector the preconditioner scales also writes its scaled copy
  // (p with z = D⁻¹p, s with y = D⁻¹s), the same products jacobiApply forms, one pass fewer each.
  const jac = precond == PC_JACOBI;
  let rv: f64;
  if (split) {
    // p = r̂ + β (p - ω q) and z = Ũ'⁻¹ p in one backward sweep, then q = Â p (u in w).
    ssorBackwardP(n, rp, ci, va, diagPos, dinv, omegaSsor, p, z, r, q, beta, omg);
    rv = ssorForward(n, rp, ci, va, diagPos, dinv, omegaSsor, p, z, w, q, rh);
  } else {
    if (jac) {
      for (let i = 0; i < n; i++) {
        const pi = ldf(r, i) + beta * (ldf(p, i) - omg * ldf(q, i));
        stf(p, i, pi);
        stf(z, i, pi * ldf(dinv, i));
      }
    } else {
      for (let i = 0; i < n; i++) stf(p, i, ldf(r, i) + beta * (ldf(p, i) - omg * ldf(q, i)));
      if (precond != PC_NONE) applyPrecond(p, z);
    }
    rv = spmvDot(n, rp, ci, va, precond == PC_NONE ? p : z, q, rh);
  }
  const ph = precond == PC_NONE ? p : z;
  if (rv == 0 || !isFinite(rv)) return BREAKDOWN;
  alpha = rhoN / rv;
  let ss: f64 = 0;
  if (jac) {
    // y = D⁻¹s is wasted only on the last iteration, when s alone meets the tolerance.
    for (let i = 0; i < n; i++) {
      const si = ldf(r, i) - alpha * ldf(q, i);
      stf(s, i, si);
      ss += si * si;
      stf(y, i, si * ldf(dinv, i));
    }
  } else {
    for (let i = 0; i < n; i++) {
      const si = ldf(r, i) - alpha * ldf(q, i);
      stf(s, i, si);
      ss += si * si;
    }
  }
  const sRes = split ? splitResidual(ss, s, tolAbs) : Math.sqrt(ss);
  if (sRes <= tolAbs) {
    for (let i = 0; i < n; i++) stf(x, i, ldf(x, i) + alpha * ldf(ph, i));
    iters++;
    res = sRes;
    memory.copy(r, s, (<usize>n) << 3);
    rho = rhoN;
    return confirm(tolAbs);
  }
  const sh = precond == PC_NONE ? s : y;
  let ts: f64;
  if (split) {
    ssorBackward(n, rp, ci, va, diagPos, dinv, omegaSsor, s, y);
    ts = ssorForward(n, rp, ci, va, diagPos, dinv, omegaSsor, s, y, w, t, s);
    tt = ssorOutSquares;
  } else {
    if (precond != PC_NONE && !jac) applyPrecond(s, y);
    ts = spmvDot2(sh, t, s);
  }
  if (tt == 0 || !isFinite(tt)) return BREAKDOWN;
  omg = ts / tt;
  if (omg == 0 || !isFinite(omg)) return BREAKDOWN;
  let rr: f64 = 0, rhr: f64 = 0;
  for (let i = 0; i < n; i++) {
    stf(x, i, ldf(x, i) + alpha * ldf(ph, i) + omg * ldf(sh, i));
    const ri = ldf(s, i) - omg * ldf(t, i);
    stf(r, i, ri);
    rr += ri * ri;
    rhr += ldf(rh, i) * ri;
  }
  rhoNext = rhr; rhoNextValid = true;
  rho = rhoN;
  bicgRestarts = 0;
  iters++;
  res = split ? splitResidual(rr, r, tolAbs) : Math.sqrt(rr);
  if (res <= tolAbs) { rhoNextValid = false; return confirm(tolAbs); }
  return RUNNING;
}

/**
 * Runs up to `maxIters` iterations of the started method. Restarts warm from x first if b, A or
 * x changed since `start`. Returns a status; RUNNING means the budget ran out.
 */
export function iterate(maxIters: i32, tol: f64, stagWindow: i32): i32 {
  if (method < 0) return NOT_STARTED;
  if (!started) {
    const st = start(method, precond, omegaSsor);
    if (st != NOT_STARTED) return st;
  }
  const tolAbs = tol * (bnorm > 0 ? bnorm : 1.0);
  if (bnorm == 0) { memory.fill(x, 0, (<usize>n) << 3); res = 0; return CONVERGED; }
  if (iters == 0 && res <= tolAbs) {
    // Warm start already good enough: r still holds b - Ax as start() computed it.
    if (!wValid) { memory.copy(w, r, (<usize>n) << 3); wValid = true; }
    return CONVERGED;
  }
  for (let k = 0; k < maxIters; k++) {
    wValid = false; // every step moves x (or r, for the stationary methods' own checks)
    xZero = false;
    let st = RUNNING;
    if (method == JACOBI) st = stepJacobi(tolAbs);
    else if (method == GAUSS_SEIDEL) st = stepGaussSeidel(tolAbs);
    else if (method == CG) st = stepCg(tolAbs);
    else if (method == BICGSTAB) st = stepBicgstab(tolAbs);
    else if (method == NEUMANN) st = stepNeumann(tolAbs);
    else return NOT_APPLICABLE;
    if (st == RUNNING) st = watch(stagWindow);
    if (st != RUNNING) return st;
  }
  return RUNNING;
}

/** dst = M⁻¹ src with the preconditioner start() prepared (the host's view of it). */
export function precondApply(src: usize, dst: usize): void { applyPrecond(src, dst); }

// ---------- single-entry estimates ----------

let cacheValid = false;
let cacheRho: f64 = 0, cacheCmax: f64 = 0;
function resetEstimateCache(): void { cacheValid = false; }

/** ρ and ||D⁻¹b||∞ are global properties: computed once, then kept until A or b changes. */
function ensureEstimateCache(): void {
  if (cacheValid) return;
  analyze(0);
  cacheRho = anRho;
  let m: f64 = 0;
  for (let i = 0; i < n; i++) { const c = Math.abs(ldf(b, i) * ldf(dinv, i)); if (c > m) m = c; }
  cacheCmax = m;
  cacheValid = true;
}

export function estimatePush(i: i32, eps: f64, maxPushes: i32): f64 {
  ensureEstimateCache();
  return pushEstimate(n, rp, ci, va, b, dinv, i, cacheRho, cacheCmax, eps, maxPushes);
}

export function estimateWalk(i: i32, eps: f64, walks: i32, seed: u32, delta: f64): f64 {
  ensureEstimateCache();
  return walkEstimate(n, rp, ci, va, b, dinv, i, cacheRho, cacheCmax, eps, walks, seed, delta);
}

// ---------- benchmark probes ----------

/** y = A x into the scratch vector w, `reps` times (SpMV timing). */
export function spmvRepeat(reps: i32): f64 {
  wValid = false;
  for (let k = 0; k < reps; k++) spmv(n, rp, ci, va, x, w);
  return ldf(w, 0);
}

/**
 * Streaming read of `bytes` from `ptr` (SIMD sum), the bandwidth floor SpMV is compared with,
 * split into `segments` equal parts walked side by side, one 64-byte block of each per step (the
 * rest, under segments * 64 bytes, read after). One stream does not always keep enough reads in
 * flight to reach the memory bandwidth (here 10 GB/s for one, 24 for 32), so the bench takes the
 * fastest split.
 */
export function streamRead(ptr: usize, bytes: usize, reps: i32, segments: i32): f64 {
  let a0 = f64x2.splat(0), a1 = f64x2.splat(0), a2 = f64x2.splat(0), a3 = f64x2.splat(0);
  const seg = (bytes / <usize>segments) & ~(<usize>63);
  const tail = ptr + seg * <usize>segments;
  const end = ptr + (bytes & ~(<usize>63));
  for (let k = 0; k < reps; k++) {
    for (let o: usize = 0; o < seg; o += 64) {
      for (let q = ptr + o; q < tail; q += seg) {
        a0 = f64x2.add(a0, v128.load(q));
        a1 = f64x2.add(a1, v128.load(q, 16));
        a2 = f64x2.add(a2, v128.load(q, 32));
        a3 = f64x2.add(a3, v128.load(q, 48));
      }
    }
    for (let o = tail; o < end; o += 64) {
      a0 = f64x2.add(a0, v128.load(o));
      a1 = f64x2.add(a1, v128.load(o, 16));
      a2 = f64x2.add(a2, v128.load(o, 32));
      a3 = f64x2.add(a3, v128.load(o, 48));
    }
  }
  const v = f64x2.add(f64x2.add(a0, a1), f64x2.add(a2, a3));
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

/** Reserves a raw buffer for streamRead. */
export function scratchBuffer(bytes: usize): usize { return reserve(bytes); }
