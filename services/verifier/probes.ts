// Which rows a verification probes (seed 000 §5.1). The rows come from a seed derived from
// (session, iteration, group), so a replay draws the same rows and two groups draw different
// ones: a bad x that one group's rows miss is likely caught by another's.
import { mulberry } from '../../wasm/src/reference';

/** FNV-1a over the UTF-16 code units of `s`, as an unsigned 32-bit seed. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The probe seed of one verification; `requested` (a VerificationRequested's seed) is mixed in when given. */
export function probeSeed(sessionId: string, iteration: number, group: string, requested: number | null = null): number {
  return fnv1a(`${sessionId}\u0000${iteration}\u0000${group}${requested === null ? '' : `\u0000${requested}`}`);
}

/**
 * `k` distinct rows of 0..n-1, ascending, drawn with mulberry32 from `seed` (Floyd's algorithm:
 * k draws, whatever n is, so a 1e6-row session costs no more than a small one).
 */
export function sampleRows(n: number, k: number, seed: number): Int32Array {
  if (k >= n) return Int32Array.from({ length: n }, (_, i) => i);
  const rnd = mulberry(seed);
  const chosen = new Set<number>();
  for (let j = n - k; j < n; j++) {
    const t = Math.floor(rnd() * (j + 1));
    chosen.add(chosen.has(t) ? j : t);
  }
  return Int32Array.from([...chosen].sort((a, b) => a - b));
}

/** Seed 000 §5.1 defaults: 10 probes of min(100, n) rows. */
export const DEFAULT_PROBES = { count: 10, size: 100 } as const;

export interface ProbeSummary {
  readonly components: Float64Array;
  readonly maxError: number;
  readonly meanError: number;
  /** sqrt(mean r_i^2) / (||b||_2 / sqrt(n)): the probed rows' estimate of ||b - Ax|| / ||b||. */
  readonly relativeResidual: number;
}

/**
 * Summarises signed row residuals b_i - (Ax)_i into the seed's |.| components, their max and
 * mean, and a relative residual comparable with the solver's tolerance. A non-finite residual
 * stays non-finite: a NaN in x must read as a failure, never as 0.
 */
export function summarize(residuals: ArrayLike<number>, bNorm: number, n: number): ProbeSummary {
  const k = residuals.length;
  const components = new Float64Array(k);
  let max = 0, sum = 0, sq = 0;
  for (let i = 0; i < k; i++) {
    const c = Math.abs(residuals[i]!);
    components[i] = c;
    if (!(c <= max)) max = c;
    sum += c;
    sq += c * c;
  }
  const rms = k > 0 ? Math.sqrt(sq / k) : 0;
  const scale = bNorm > 0 ? bNorm / Math.sqrt(n) : 1;
  return { components, maxError: max, meanError: k > 0 ? sum / k : 0, relativeResidual: rms / scale };
}

/**
 * The largest |b_i - (Ax)_i| a solution within the solver's tolerance can have: its residual
 * satisfies ||r||_2 <= tol * ||b||_2, and no component exceeds the 2-norm. So a verified x is
 * never failed, and a failed one is certainly outside the tolerance.
 */
export const componentTolerance = (tolerance: number, bNorm: number): number => tolerance * (bNorm > 0 ? bNorm : 1);
