// The residual history of one session as one verifier sees it (seed 000 §5.2-5.3): EWMA drift
// against a baseline, stagnation, divergence. Pure: a sample in, the new history and its
// verdict out.

export const DRIFT = { alpha: 0.1, alert: 0.1 } as const;
export const STAGNATION = { window: 50, variance: 1e-12 } as const;
/** Divergence: the residual grew this many times over the best of the window, above the tolerance. */
export const DIVERGENCE_FACTOR = 10;

export type History =
  | { readonly kind: 'empty' }
  | {
    readonly kind: 'tracking';
    /** The first sample (seed §5.3: the baseline is the first metrics seen). */
    readonly baseline: number;
    readonly ewma: number;
    /** The last STAGNATION.window samples, oldest first. */
    readonly window: readonly number[];
  };

export const EMPTY_HISTORY: History = { kind: 'empty' };

export interface Assessment {
  /** |ewma - baseline| / baseline (seed §5.3); 0 for the baseline itself. */
  readonly severity: number;
  /** severity > 10% with the smoothed residual above the tolerance. */
  readonly drift: boolean;
  readonly stagnation: boolean;
  readonly divergence: boolean;
}

export function variance(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return xs.reduce((a, x) => a + (x - mean) * (x - mean), 0) / xs.length;
}

/**
 * Adds a relative residual `r` (the probes' estimate of ||b - Ax|| / ||b||).
 *
 * Two departures from the seed's sketch, both so a healthy session raises nothing:
 * - the EWMA starts at the baseline, not at 0: from 0, a constant residual reads as 90% drift
 *   on the second sample and decays slowly;
 * - drift, stagnation and divergence only count above the session's tolerance: a converged
 *   solution's residual is rounding noise (1e-10 one time, 3e-10 the next: 200% "drift"), and
 *   its variance is always under 1e-12.
 */
export function track(h: History, r: number, tolerance: number): { history: History; assessment: Assessment } {
  const finite = Number.isFinite(r);
  if (h.kind === 'empty') {
    const history: History = { kind: 'tracking', baseline: r, ewma: r, window: [r] };
    return { history, assessment: { severity: 0, drift: false, stagnation: false, divergence: !finite } };
  }
  const ewma = DRIFT.alpha * r + (1 - DRIFT.alpha) * h.ewma;
  const severity = h.baseline > 0 ? Math.abs(ewma - h.baseline) / h.baseline : (ewma > 0 ? Infinity : 0);
  const window = [...h.window, r].slice(-STAGNATION.window);
  const above = !(r <= tolerance);
  const best = Math.min(...window);
  const assessment: Assessment = {
    severity: Number.isFinite(severity) ? severity : Number.MAX_VALUE,
    drift: severity > DRIFT.alert && !(ewma <= tolerance),
    stagnation: above && window.length >= STAGNATION.window && variance(window) < STAGNATION.variance,
    divergence: !finite || (above && r >= DIVERGENCE_FACTOR * best),
  };
  return { history: { kind: 'tracking', baseline: h.baseline, ewma: Number.isFinite(ewma) ? ewma : h.ewma, window: window.map((x) => (Number.isFinite(x) ? x : Number.MAX_VALUE)) }, assessment };
}
