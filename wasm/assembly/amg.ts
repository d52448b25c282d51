// Smoothed-aggregation AMG: setup, value-only rebuild and the V-cycle. The algorithm and its
// operation order are those of wasm/src/reference-amg.ts (read that file for the method); every
// sum runs in the same order, so the hierarchy and M⁻¹r equal the reference's bit for bit.
import { reserve, pregrow, heapTop, release, ldf, stf, ldi, sti, ldh, sth } from './memory';
import { rowDot } from './csr';

const THETA0: f64 = 0.08;
const COARSE_ROWS: i32 = 100;
const DENSE_MAX: i32 = 400;
const MAX_LEVELS: i32 = 12;
const COARSE_SWEEPS: i32 = 4;

// Level table: FIELDS u32 slots per level (pointers into linear memory, counts).
const N = 0, NNZ = 1, RP = 2, CI = 3, VA = 4, SD = 5, F = 6, U = 7, T = 8, X = 9, STRONG = 10, AGG = 11, NC = 12,
  PP = 13, PC = 14, PV = 15, RRP = 16, RC = 17, LU = 19, PIV = 20, Y = 21, G = 22;
const FIELDS = 24;

let tab: usize = 0;
let nLevels: i32 = 0;
// Scratch for the setup and rebuild, laid over memory that is dead then and touched by the solve
// anyway (a fresh page costs a fault on first touch: with 2 cores shared, n=2.5e5, the first
// setup took 3× the CPU time of a second one on the same pages). wAcc (8 n0, a session vector
// the caller lends, dead during start()): a diagonal, dF, the Galerkin product's fine
// accumulator; the finest level's cycle vector u (8 n0, dead outside a cycle) as wLo (first half):
// aggregation states, the fine marker, wHi (second half): coarse markers, positions, transpose
// cursors, or whole as wRow: P's row accumulator by aggregate (nc ≤ n0 doubles).
let wAcc: usize = 0, wLo: usize = 0, wHi: usize = 0, wRow: usize = 0;
// The allocator's range this hierarchy took, given back by a full re-setup when nothing was
// reserved after it (the bump allocator frees nothing else).
let base: usize = 0, end: usize = 0;

@inline function g(l: i32, f: i32): usize { return <usize>load<u32>(tab + ((<usize>(l * FIELDS + f)) << 2)); }
@inline function gi(l: i32, f: i32): i32 { return load<i32>(tab + ((<usize>(l * FIELDS + f)) << 2)); }
@inline function put(l: i32, f: i32, v: usize): void { store<u32>(tab + ((<usize>(l * FIELDS + f)) << 2), <u32>v); }

export function amgLevels(): i32 { return nLevels; }
/** Bytes the hierarchy took from the allocator. */
export function amgBytes(): usize { return end - base; }
/** A level's field (see the table above) for the host's view of the hierarchy. */
export function amgField(l: i32, f: i32): i32 { return gi(l, f); }

/** Reserves `bytes`; 0 when memory cannot grow (the setup then fails with -1). */
let oom = false;
function take(bytes: usize): usize {
  const p = reserve(bytes);
  if (p == 0) oom = true;
  return p;
}

/** ω/a_ii into sd (ω = 4/3 over the Gershgorin bound of ρ(D⁻¹A)); false when a diagonal is zero. */
function scaledDiag(n: i32, rp: usize, ci: usize, va: usize, sd: usize): bool {
  let rho: f64 = 0;
  let ok = true;
  for (let i = 0; i < n; i++) {
    let d: f64 = 0, sum: f64 = 0;
    const e = ldi(rp, i + 1);
    for (let k = ldi(rp, i); k < e; k++) {
      const v = ldf(va, k);
      if (ldi(ci, k) == i) d = v;
      sum += Math.abs(v);
    }
    if (d == 0) { ok = false; stf(sd, i, 0); continue; }
    const inv = 1.0 / d;
    stf(sd, i, inv);
    const gg = sum * Math.abs(inv);
    if (gg > rho) rho = gg;
  }
  const omega: f64 = rho > 0 ? 4.0 / (3.0 * rho) : 1.0;
  for (let i = 0; i < n; i++) stf(sd, i, omega * ldf(sd, i));
  return ok;
}

function strength(n: i32, rp: usize, ci: usize, va: usize, theta: f64, strong: usize): void {
  const diag = wAcc;
  for (let i = 0; i < n; i++) {
    stf(diag, i, 0);
    const e = ldi(rp, i + 1);
    for (let k = ldi(rp, i); k < e; k++) if (ldi(ci, k) == i) stf(diag, i, ldf(va, k));
  }
  const eps2 = theta * theta;
  for (let i = 0; i < n; i++) {
    const e = ldi(rp, i + 1);
    for (let k = ldi(rp, i); k < e; k++) {
      const j = ldi(ci, k);
      const v = ldf(va, k);
      store<u8>(strong + <usize>k, j != i && v * v > eps2 * Math.abs(ldf(diag, i) * ldf(diag, j)) ? 1 : 0);
    }
  }
}

@inline function st(i: i32): u8 { return load<u8>(wLo + <usize>i); }
@inline function setSt(i: i32, v: u8): void { store<u8>(wLo + <usize>i, v); }
@inline function isStrong(strong: usize, k: i32): bool { return load<u8>(strong + <usize>k) != 0; }

function aggregate(n: i32, rp: usize, ci: usize, strong: usize, agg: usize): i32 {
  memory.fill(wLo, 0, <usize>n);
  for (let i = 0; i < n; i++) sti(agg, i, -1);
  let nc = 0;
  for (let i = 0; i < n; i++) {
    let hasStrong = false, free = true;
    const e = ldi(rp, i + 1);
    for (let k = ldi(rp, i); k < e; k++) {
      if (!isStrong(strong, k)) continue;
      hasStrong = true;
      if (st(ldi(ci, k)) != 0) { free = false; break; }
    }
    if (!hasStrong || !free || st(i) != 0) continue;
    sti(agg, i, nc); setSt(i, 1);
    for (let k = ldi(rp, i); k < e; k++) if (isStrong(strong, k)) { const j = ldi(ci, k); sti(agg, j, nc); setSt(j, 1); }
    nc++;
  }
  for (let i = 0; i < n; i++) {
    if (st(i) != 0) continue;
    const e = ldi(rp, i + 1);
    for (let k = ldi(rp, i); k < e; k++) {
      const j = ldi(ci, k);
      if (isStrong(strong, k) && st(j) == 1) { sti(agg, i, ldi(agg, j)); setSt(i, 2); break; }
    }
  }
  for (let i = 0; i < n; i++) {
    if (st(i) != 0) continue;
    let hasStrong = false;
    const e = ldi(rp, i + 1);
    for (let k = ldi(rp, i); k < e; k++) if (isStrong(strong, k)) { hasStrong = true; break; }
    if (!hasStrong) continue;
    sti(agg, i, nc); setSt(i, 2);
    for (let k = ldi(rp, i); k < e; k++) {
      const j = ldi(ci, k);
      if (isStrong(strong, k) && st(j) == 0) { sti(agg, j, nc); setSt(j, 2); }
    }
    nc++;
  }
  return nc;
}

/**
 * P's pattern in one pass: row i holds the aggregates of i and its strong neighbours. The columns
 * are written at the allocator's top (P has at most one entry per entry of A), then taken.
 */
function pSymbolic(l: i32): void {
  const n = gi(l, N), nnz = gi(l, NNZ), rp = g(l, RP), ci = g(l, CI), strong = g(l, STRONG), agg = g(l, AGG), nc = gi(l, NC);
  const mark = wHi;
  const pp = take(((<usize>n) + 1) << 2);
  if (oom) return;
  const pc = heapTop();
  if (!pregrow((<usize>nnz) << 2)) { oom = true; return; }
  for (let c = 0; c < nc; c++) sti(mark, c, -1);
  let cnt = 0;
  sti(pp, 0, 0);
  for (let i = 0; i < n; i++) {
    const e = ldi(rp, i + 1);
    for (let k = ldi(rp, i); k < e; k++) {
      const j = ldi(ci, k);
      if (j != i && !isStrong(strong, k)) continue;
      const c = ldi(agg, j);
      if (c < 0 || ldi(mark, c) == i) continue;
      sti(mark, c, i);
      sti(pc, cnt, c);
      cnt++;
    }
    sti(pp, i + 1, cnt);
  }
  put(l, PC, take((<usize>cnt) << 2)); // = pc: nothing was reserved since
  put(l, PV, take((<usize>cnt) << 2)); // f32
  put(l, RRP, take(((<usize>nc) + 1) << 2)); put(l, RC, take((<usize>cnt) << 2));
  if (oom) return;
  put(l, PP, pp);
}

function pNumeric(l: i32): void {
  const n = gi(l, N), rp = g(l, RP), ci = g(l, CI), va = g(l, VA), strong = g(l, STRONG), agg = g(l, AGG);
  const pp = g(l, PP), pc = g(l, PC), pv = g(l, PV);
  const dF = wAcc, acc = wRow;
  let rho: f64 = 0;
  for (let i = 0; i < n; i++) {
    let d: f64 = 0, off: f64 = 0;
    const e = ldi(rp, i + 1);
    for (let k = ldi(rp, i); k < e; k++) {
      if (ldi(ci, k) == i || !isStrong(strong, k)) d += ldf(va, k); else off += Math.abs(ldf(va, k));
    }
    stf(dF, i, d);
    if (d != 0) { const gg = (off + Math.abs(d)) / Math.abs(d); if (gg > rho) rho = gg; }
  }
  const omega: f64 = rho > 0 ? 4.0 / (3.0 * rho) : 0;
  const diagCoef = 1 - omega;
  for (let i = 0; i < n; i++) {
    const b0 = ldi(pp, i), b1 = ldi(pp, i + 1);
    for (let m = b0; m < b1; m++) stf(acc, ldi(pc, m), 0);
    const di = ldf(dF, i);
    const s: f64 = di != 0 ? omega / di : 0;
    const e = ldi(rp, i + 1);
    for (let k = ldi(rp, i); k < e; k++) {
      const j = ldi(ci, k);
      if (j == i) {
        const c = ldi(agg, i);
        if (c >= 0) stf(acc, c, ldf(acc, c) + diagCoef);
        continue;
      }
      if (!isStrong(strong, k)) continue;
      const c = ldi(agg, j);
      if (c < 0) continue;
      stf(acc, c, ldf(acc, c) + -s * ldf(va, k));
    }
    for (let m = b0; m < b1; m++) sth(pv, m, ldf(acc, ldi(pc, m)));
  }
}

/** R's pattern (Pᵀ: rows by aggregate, fine rows ascending); its values are P's, read through P's rows. */
function transpose(l: i32): void {
  const n = gi(l, N), nc = gi(l, NC), pp = g(l, PP), pc = g(l, PC), rrp = g(l, RRP), rc = g(l, RC);
  for (let c = 0; c <= nc; c++) sti(rrp, c, 0);
  const total = ldi(pp, n);
  for (let m = 0; m < total; m++) { const c = ldi(pc, m) + 1; sti(rrp, c, ldi(rrp, c) + 1); }
  for (let c = 0; c < nc; c++) sti(rrp, c + 1, ldi(rrp, c + 1) + ldi(rrp, c));
  const fill = wHi;
  for (let c = 0; c < nc; c++) sti(fill, c, ldi(rrp, c));
  for (let i = 0; i < n; i++) {
    const e = ldi(pp, i + 1);
    for (let m = ldi(pp, i); m < e; m++) {
      const c = ldi(pc, m);
      const at = ldi(fill, c);
      sti(rc, at, i);
      sti(fill, c, at + 1);
    }
  }
}

/**
 * Level l+1's pattern in one pass (reference-amg.ts galerkinSymbolic) and its vectors. The
 * columns are written at the allocator's top, growing memory before each row by what one row
 * can add (nc), then taken.
 */
function galerkinSymbolic(l: i32): void {
  const n = gi(l, N), rp = g(l, RP), ci = g(l, CI), rrp = g(l, RRP), rc = g(l, RC), pp = g(l, PP), pc = g(l, PC), nc = gi(l, NC);
  const fmark = wLo, mark = wHi;
  const crp = take(((<usize>nc) + 1) << 2);
  if (oom) return;
  const cci = heapTop();
  memory.fill(fmark, 0xff, (<usize>n) << 2);
  memory.fill(mark, 0xff, (<usize>nc) << 2);
  let cnt = 0;
  sti(crp, 0, 0);
  for (let I = 0; I < nc; I++) {
    if (!pregrow((<usize>(cnt + nc)) << 2)) { oom = true; return; }
    const qe = ldi(rrp, I + 1);
    for (let q = ldi(rrp, I); q < qe; q++) {
      const i = ldi(rc, q);
      const e = ldi(rp, i + 1);
      for (let k = ldi(rp, i); k < e; k++) {
        const kk = ldi(ci, k);
        if (ldi(fmark, kk) == I) continue;
        sti(fmark, kk, I);
        const me = ldi(pp, kk + 1);
        for (let m = ldi(pp, kk); m < me; m++) {
          const J = ldi(pc, m);
          if (ldi(mark, J) == I) continue;
          sti(mark, J, I);
          sti(cci, cnt, J);
          cnt++;
        }
      }
    }
    sti(crp, I + 1, cnt);
  }
  take((<usize>cnt) << 2); // = cci
  const c = l + 1;
  const vb = (<usize>nc) << 3;
  put(c, N, nc); put(c, NNZ, cnt); put(c, RP, crp); put(c, CI, cci); put(c, VA, take((<usize>cnt) << 3));
  put(c, SD, take(vb)); put(c, F, take(vb)); put(c, U, take(vb)); put(c, T, take(vb)); put(c, X, take(vb));
  put(c, Y, take(vb)); put(c, G, take(vb));
}

/** A_{l+1} = R A_l P in two steps per coarse row (reference-amg.ts galerkinNumeric). */
function galerkinNumeric(l: i32): void {
  const n = gi(l, N), rp = g(l, RP), ci = g(l, CI), va = g(l, VA), rrp = g(l, RRP), rc = g(l, RC), pp = g(l, PP), pc = g(l, PC), pv = g(l, PV);
  const c = l + 1;
  const nc = gi(c, N), crp = g(c, RP), cci = g(c, CI), cva = g(c, VA);
  const acc = wAcc, fmark = wLo, pos = wHi;
  memory.fill(fmark, 0xff, (<usize>n) << 2);
  for (let I = 0; I < nc; I++) {
    const ce = ldi(crp, I + 1);
    for (let m = ldi(crp, I); m < ce; m++) { sti(pos, ldi(cci, m), m); stf(cva, m, 0); }
    const q0 = ldi(rrp, I), q1 = ldi(rrp, I + 1);
    for (let q = q0; q < q1; q++) {
      const i = ldi(rc, q);
      let r: f64 = 0; // r_Ii = p_iI, from row i of P
      const pe = ldi(pp, i + 1);
      for (let m = ldi(pp, i); m < pe; m++) if (ldi(pc, m) == I) { r = ldh(pv, m); break; }
      const e = ldi(rp, i + 1);
      for (let k = ldi(rp, i); k < e; k++) {
        const kk = ldi(ci, k);
        const ra = r * ldf(va, k);
        if (ldi(fmark, kk) == I) stf(acc, kk, ldf(acc, kk) + ra); else { sti(fmark, kk, I); stf(acc, kk, ra); }
      }
    }
    for (let q = q0; q < q1; q++) {
      const i = ldi(rc, q);
      const e = ldi(rp, i + 1);
      for (let k = ldi(rp, i); k < e; k++) {
        const kk = ldi(ci, k);
        if (ldi(fmark, kk) != I) continue;
        sti(fmark, kk, -2);
        const v = ldf(acc, kk);
        const me = ldi(pp, kk + 1);
        for (let m = ldi(pp, kk); m < me; m++) {
          const at = ldi(pos, ldi(pc, m));
          stf(cva, at, ldf(cva, at) + v * ldh(pv, m));
        }
      }
    }
  }
}

function denseFactor(l: i32): bool {
  const m = gi(l, N), a = g(l, LU), piv = g(l, PIV), rp = g(l, RP), ci = g(l, CI), va = g(l, VA);
  memory.fill(a, 0, (<usize>m * <usize>m) << 3);
  for (let i = 0; i < m; i++) {
    const e = ldi(rp, i + 1);
    for (let k = ldi(rp, i); k < e; k++) stf(a, i * m + ldi(ci, k), ldf(va, k));
  }
  for (let k = 0; k < m; k++) {
    let p = k;
    let best = Math.abs(ldf(a, k * m + k));
    for (let i = k + 1; i < m; i++) { const v = Math.abs(ldf(a, i * m + k)); if (v > best) { best = v; p = i; } }
    sti(piv, k, p);
    if (p != k) for (let j = 0; j < m; j++) { const t = ldf(a, k * m + j); stf(a, k * m + j, ldf(a, p * m + j)); stf(a, p * m + j, t); }
    const d = ldf(a, k * m + k);
    if (d == 0 || !isFinite(d)) return false;
    for (let i = k + 1; i < m; i++) {
      const lik = ldf(a, i * m + k) / d;
      stf(a, i * m + k, lik);
      for (let j = k + 1; j < m; j++) stf(a, i * m + j, ldf(a, i * m + j) - lik * ldf(a, k * m + j));
    }
  }
  return true;
}

function denseSolve(l: i32, f: usize, x: usize): void {
  const m = gi(l, N), a = g(l, LU), piv = g(l, PIV);
  memory.copy(x, f, (<usize>m) << 3);
  for (let k = 0; k < m; k++) { const p = ldi(piv, k); if (p != k) { const t = ldf(x, k); stf(x, k, ldf(x, p)); stf(x, p, t); } }
  for (let i = 0; i < m; i++) {
    let s = ldf(x, i);
    for (let j = 0; j < i; j++) s -= ldf(a, i * m + j) * ldf(x, j);
    stf(x, i, s);
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = ldf(x, i);
    for (let j = i + 1; j < m; j++) s -= ldf(a, i * m + j) * ldf(x, j);
    stf(x, i, s / ldf(a, i * m + i));
  }
}

/**
 * Full setup on A (level 0 borrows A's arrays; `lent`: 8 n bytes of scratch, also for every
 * rebuild, dead during setup and rebuild). 0 ready, 1 not applicable (a zero diagonal, a
 * zero coarse pivot), -1 out of memory.
 */
export function amgSetup(n: i32, nnz: i32, rp: usize, ci: usize, va: usize, lent: usize): i32 {
  if (base != 0 && end == heapTop()) release(base);
  base = heapTop();
  oom = false;
  // One growth for the usual size of a hierarchy (bench/solver: 2D stencils take about
  // 17 nnz + 70 n bytes): every growth is reported to V8 as external memory and may set off a GC.
  pregrow((<usize>nnz) * 24 + (<usize>n) * 96);
  nLevels = 0;
  tab = take(<usize>(MAX_LEVELS * FIELDS) << 2);
  const vb = (<usize>n) << 3;
  put(0, N, n); put(0, NNZ, nnz); put(0, RP, rp); put(0, CI, ci); put(0, VA, va);
  put(0, SD, take(vb)); put(0, U, take(vb));
  if (oom) return -1;
  wAcc = lent; wRow = g(0, U); wLo = wRow; wHi = wRow + ((<usize>n) << 2);
  let theta = THETA0;
  let code = 0;
  for (let l = 0; ; l++) {
    nLevels = l + 1;
    const ln = gi(l, N);
    if (!scaledDiag(ln, g(l, RP), g(l, CI), g(l, VA), g(l, SD))) { code = 1; break; }
    if (ln <= COARSE_ROWS || l == MAX_LEVELS - 1) break;
    const strong = take(<usize>gi(l, NNZ));
    const agg = take((<usize>ln) << 2);
    if (oom) return -1;
    strength(ln, g(l, RP), g(l, CI), g(l, VA), theta, strong);
    const nc = aggregate(ln, g(l, RP), g(l, CI), strong, agg);
    if (nc == 0 || nc * 5 > ln * 4) break;
    put(l, STRONG, strong); put(l, AGG, agg); put(l, NC, nc);
    pSymbolic(l);
    if (oom) return -1;
    pNumeric(l);
    transpose(l);
    galerkinSymbolic(l);
    if (oom) return -1;
    galerkinNumeric(l);
    theta *= 0.5;
  }
  if (code == 0) {
    const last = nLevels - 1;
    const m = gi(last, N);
    // The finest level's t serves only its Jacobi sweeps as the coarsest (coarsening stalled).
    if (g(last, T) == 0) { put(last, T, take((<usize>m) << 3)); if (oom) return -1; }
    if (m <= DENSE_MAX) {
      put(last, LU, take((<usize>m * <usize>m) << 3)); put(last, PIV, take((<usize>m) << 2));
      if (oom) return -1;
      if (!denseFactor(last)) code = 1;
    }
  }
  end = heapTop();
  return code;
}

/** Rebuild: every level's values for A's current entries on the kept structure (0 or 1 as amgSetup). */
export function amgRebuild(): i32 {
  for (let l = 0; l < nLevels; l++) {
    if (!scaledDiag(gi(l, N), g(l, RP), g(l, CI), g(l, VA), g(l, SD))) return 1;
    if (g(l, AGG) == 0) break;
    pNumeric(l);
    galerkinNumeric(l);
  }
  const last = nLevels - 1;
  return g(last, LU) == 0 || denseFactor(last) ? 0 : 1;
}

/** One row sum of level l's A over u (rowDot: the sum order of every CSR loop). */
@inline function arow(rp: usize, ci: usize, va: usize, i: i32, u: usize): f64 {
  const k = ldi(rp, i);
  return rowDot(va + ((<usize>k) << 3), ci + ((<usize>k) << 2), ci + ((<usize>ldi(rp, i + 1)) << 2), u);
}

/** Σ_j a_ij (sd_j f_j) over row i in column order: arow over u = sd ⊙ f without storing u. */
@inline function scaledRow(rp: usize, ci: usize, va: usize, i: i32, sd: usize, f: usize): f64 {
  let s: f64 = 0;
  const e = ldi(rp, i + 1);
  for (let k = ldi(rp, i); k < e; k++) {
    const o = (<usize>ldi(ci, k)) << 3;
    s += ldf(va, k) * (load<f64>(sd + o) * load<f64>(f + o));
  }
  return s;
}

function cycle(l: i32, out: usize): void {
  const n = gi(l, N), rp = g(l, RP), ci = g(l, CI), va = g(l, VA), sd = g(l, SD), f = g(l, F), u = g(l, U), t = g(l, T);
  if (l == nLevels - 1) {
    if (g(l, LU) != 0) { denseSolve(l, f, out); return; }
    for (let i = 0; i < n; i++) stf(u, i, ldf(sd, i) * ldf(f, i));
    for (let s = 1; s < COARSE_SWEEPS; s++) {
      const src = s % 2 == 1 ? u : t, dst = s % 2 == 1 ? t : u;
      for (let i = 0; i < n; i++) stf(dst, i, ldf(src, i) + ldf(sd, i) * (ldf(f, i) - arow(rp, ci, va, i, src)));
    }
    memory.copy(out, COARSE_SWEEPS % 2 == 1 ? u : t, (<usize>n) << 3);
    return;
  }
  // Pre-smoothing from zero, u = ω D⁻¹ f, is not stored: the residual takes u_j = sd_j f_j as it
  // reads it (the same product), and the prolongation writes u_i = sd_i f_i + (P x_c)_i.
  // Residual t = f - A u and restriction f_c = R t in one pass: t_i is scattered through row i of
  // P (R = Pᵀ), so f_c[c] sums its terms in ascending fine row, as R's row c does, from 0.
  const c = l + 1;
  const nc = gi(c, N), fc = g(c, F), xc = g(c, X);
  const pp = g(l, PP), pc = g(l, PC), pv = g(l, PV);
  memory.fill(fc, 0, (<usize>nc) << 3);
  for (let i = 0; i < n; i++) {
    const ti = ldf(f, i) - scaledRow(rp, ci, va, i, sd, f);
    const me = ldi(pp, i + 1);
    for (let m = ldi(pp, i); m < me; m++) { const at = ldi(pc, m); stf(fc, at, ldf(fc, at) + ldh(pv, m) * ti); }
  }
  cycle(c, xc);
  if (gi(c, NNZ) * 5 <= gi(l, NNZ) * 2 && c < nLevels - 1) {
    // W-cycle (reference-amg.ts `twice`): x_c += V(f_c - A_c x_c).
    const y = g(c, Y), gg = g(c, G), crp = g(c, RP), cci = g(c, CI), cva = g(c, VA);
    const vb = (<usize>nc) << 3;
    memory.copy(y, xc, vb); memory.copy(gg, fc, vb);
    for (let I = 0; I < nc; I++) stf(fc, I, ldf(gg, I) - arow(crp, cci, cva, I, y));
    cycle(c, xc);
    for (let I = 0; I < nc; I++) stf(xc, I, ldf(y, I) + ldf(xc, I));
  }
  for (let i = 0; i < n; i++) {
    let s: f64 = 0;
    const me = ldi(pp, i + 1);
    for (let m = ldi(pp, i); m < me; m++) s += ldh(pv, m) * ldf(xc, ldi(pc, m));
    stf(u, i, ldf(sd, i) * ldf(f, i) + s);
  }
  for (let i = 0; i < n; i++) stf(out, i, ldf(u, i) + ldf(sd, i) * (ldf(f, i) - arow(rp, ci, va, i, u)));
}

/** dst = M⁻¹ src: one V-cycle from a zero guess. */
export function amgApply(src: usize, dst: usize): void {
  put(0, F, src);
  cycle(0, dst);
}

/** Profiling (bench/solver/amg-phases.ts): `reps` cycles from level l down (level 0 on src into dst, deeper levels on their last f). */
export function amgCycleFrom(l: i32, reps: i32, src: usize, dst: usize): void {
  if (l == 0) put(0, F, src);
  for (let r = 0; r < reps; r++) cycle(l, l == 0 ? dst : g(l, X));
}
