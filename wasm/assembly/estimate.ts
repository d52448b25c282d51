// Sublinear single-entry estimates of x_i for A x = b, written as x = M x + c with
// M = -D⁻¹(A - D), c = D⁻¹ b. Both need ρ = max_j Σ_k |M_jk| < 1 (strict diagonal dominance),
// which bounds ||x||∞ ≤ ||c||∞ / (1 - ρ) =: B and so turns leftover mass into an error bound.
import { reserve, ldf, stf, ldi, sti } from './memory';

let er: usize = 0, flags: usize = 0, queue: usize = 0, touched: usize = 0, cap: i32 = 0;
let lastBound: f64 = 0;
let lastWork: i32 = 0;

const IN_QUEUE: u8 = 1, TOUCHED: u8 = 2;

export function estimateBound(): f64 { return lastBound; }
export function estimateWork(): i32 { return lastWork; }

function ensure(n: i32): bool {
  if (cap >= n) return true;
  er = reserve((<usize>n) << 3);
  flags = reserve(<usize>n);
  queue = reserve(((<usize>n) + 1) << 2);
  touched = reserve((<usize>n) << 2);
  if (er == 0 || flags == 0 || queue == 0 || touched == 0) return false;
  memory.fill(er, 0, (<usize>n) << 3);
  memory.fill(flags, 0, <usize>n);
  cap = n;
  return true;
}

@inline function flag(j: i32): u8 { return load<u8>(flags + <usize>j); }
@inline function setFlag(j: i32, f: u8): void { store<u8>(flags + <usize>j, f); }

/**
 * Local (backward) push for row i of (I - M)⁻¹: keeps u = p + (I - Mᵀ)⁻¹ r with r = e_i at
 * the start; a push at j moves r_j into the estimate (as r_j c_j) and spreads r_j M_jk over row j
 * of A. Then |x_i - estimate| ≤ ||r||₁ B. Pushes go in phases: only entries above a threshold θ
 * move, θ shrinking 4× per phase, so small residues are not pushed over and over. Stops when the
 * bound ≤ eps or after maxPushes. Deterministic (FIFO within a phase); touches only rows near i.
 */
export function pushEstimate(n: i32, rp: usize, ci: usize, va: usize, b: usize, dinv: usize,
                             i: i32, rhoMax: f64, cmax: f64, eps: f64, maxPushes: i32): f64 {
  if (!ensure(n)) { lastBound = Infinity; lastWork = -1; return NaN; }
  const big: f64 = rhoMax < 1 ? cmax / (1 - rhoMax) : Infinity;
  const ring = n + 1;
  let head = 0, tail = 0, nTouched = 0;
  stf(er, i, 1); setFlag(i, IN_QUEUE | TOUCHED); sti(queue, tail, i); tail = (tail + 1) % ring;
  sti(touched, nTouched++, i);
  let theta: f64 = 0.25;
  let r1: f64 = 1;
  let est: f64 = 0;
  let pushes = 0;
  while (r1 * big > eps && pushes < maxPushes) {
    if (head == tail) {
      // Phase over: lower the threshold and requeue what now exceeds it.
      theta *= 0.25;
      if (theta < 1e-300) break;
      for (let q = 0; q < nTouched; q++) {
        const c = ldi(touched, q);
        if (Math.abs(ldf(er, c)) > theta && (flag(c) & IN_QUEUE) == 0) {
          setFlag(c, flag(c) | IN_QUEUE); sti(queue, tail, c); tail = (tail + 1) % ring;
        }
      }
      if (head == tail) break; // nothing left anywhere: the estimate is exact
      continue;
    }
    const j = ldi(queue, head); head = (head + 1) % ring;
    setFlag(j, flag(j) & ~IN_QUEUE);
    const rj = ldf(er, j);
    if (Math.abs(rj) <= theta) continue;
    stf(er, j, 0);
    r1 -= Math.abs(rj);
    const dj = ldf(dinv, j);
    est += rj * (ldf(b, j) * dj);
    const f = -rj * dj;
    const end = ldi(rp, j + 1);
    for (let k = ldi(rp, j); k < end; k++) {
      const c = ldi(ci, k);
      if (c == j) continue;
      const old = ldf(er, c);
      const nv = old + f * ldf(va, k);
      stf(er, c, nv);
      r1 += Math.abs(nv) - Math.abs(old);
      const fl = flag(c);
      if ((fl & TOUCHED) == 0) { sti(touched, nTouched++, c); }
      if ((fl & IN_QUEUE) == 0 && Math.abs(nv) > theta) {
        setFlag(c, fl | IN_QUEUE | TOUCHED); sti(queue, tail, c); tail = (tail + 1) % ring;
      } else setFlag(c, fl | TOUCHED);
    }
    pushes++;
  }
  // Exact leftover mass (r1 drifts by rounding); clean up only what was touched.
  let left: f64 = 0;
  for (let q = 0; q < nTouched; q++) {
    const c = ldi(touched, q);
    left += Math.abs(ldf(er, c));
    stf(er, c, 0); setFlag(c, 0);
  }
  lastBound = left == 0 ? 0 : left * big;
  lastWork = pushes;
  return est;
}

// mulberry32: a 32-bit generator the TypeScript reference reproduces exactly with Math.imul.
let rngState: u32 = 0;
function nextUnit(): f64 {
  rngState += 0x6D2B79F5;
  let t: u32 = rngState;
  t = (t ^ (t >>> 15)) * (t | 1);
  t ^= t + (t ^ (t >>> 7)) * (t | 61);
  return <f64>(t ^ (t >>> 14)) / 4294967296.0;
}

/**
 * Random-walk Neumann sampling: each walk from i steps j → k with probability |M_jk| / s_j and
 * multiplies its weight by sign(M_jk) s_j, summing weight × c over at most L steps, where
 * ρ^(L+1) B ≤ eps/2. Bound = truncation + Hoeffding half-width B·sqrt(2 ln(2/δ) / walks), which
 * holds with probability 1 - δ. Same seed → same answer.
 */
export function walkEstimate(n: i32, rp: usize, ci: usize, va: usize, b: usize, dinv: usize,
                             i: i32, rhoMax: f64, cmax: f64, eps: f64, walks: i32, seed: u32, delta: f64): f64 {
  if (!(rhoMax < 1)) { lastBound = Infinity; lastWork = 0; return NaN; }
  const big = cmax / (1 - rhoMax);
  let steps = 0;
  let tail = big * rhoMax;
  while (tail > 0.5 * eps && steps < 100000) { tail *= rhoMax; steps++; }
  rngState = seed;
  let sum: f64 = 0;
  let work = 0;
  for (let w = 0; w < walks; w++) {
    let j = i;
    let wt: f64 = 1;
    let acc: f64 = 0;
    for (let step = 0; step <= steps; step++) {
      const dj = ldf(dinv, j);
      acc += wt * (ldf(b, j) * dj);
      if (step == steps) break;
      const start = ldi(rp, j), end = ldi(rp, j + 1);
      let sj: f64 = 0;
      for (let k = start; k < end; k++) if (ldi(ci, k) != j) sj += Math.abs(ldf(va, k) * dj);
      if (sj == 0) break;
      const u = nextUnit() * sj;
      let cum: f64 = 0;
      let pick = -1;
      let mjk: f64 = 0;
      for (let k = start; k < end; k++) {
        const c = ldi(ci, k);
        if (c == j) continue;
        const m = -ldf(va, k) * dj;
        cum += Math.abs(m);
        pick = c; mjk = m;
        if (u < cum) break;
      }
      wt *= (mjk < 0 ? -sj : sj);
      j = pick;
      work++;
    }
    sum += acc;
  }
  lastWork = work;
  lastBound = tail + big * Math.sqrt(2 * Math.log(2 / delta) / <f64>walks);
  return sum / <f64>walks;
}
