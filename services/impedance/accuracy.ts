// Prediction accuracy (seed 002 §11.1 impedance_prediction_accuracy: actual vs predicted
// arrival, target within 50 ms for 90 % of messages). Pure pieces; the counters live in Redis.
export const WITHIN_MS = 50;
export const ERROR_BUCKET_MS = 10;
/** Errors of 1 s or more share the last histogram bucket. */
export const ERROR_BUCKETS = 100;
export const ACCURACY_BUCKET_MS = 300_000;
export const ACCURACY_WINDOW_BUCKETS = 12;

export interface AckMeasure {
  readonly errorMs: number;
  readonly within: boolean;
  /** Histogram bucket of |error|: [10 b, 10 (b + 1)) ms. */
  readonly bucket: number;
}

export function measureArrival(actualUs: number, predictedUs: number): AckMeasure {
  const errorMs = Math.abs(actualUs - predictedUs) / 1000;
  return { errorMs, within: errorMs <= WITHIN_MS, bucket: Math.min(ERROR_BUCKETS, Math.floor(errorMs / ERROR_BUCKET_MS)) };
}

/** Upper edge of the histogram bucket holding the q-quantile; null for an empty histogram. */
export function histogramQuantileMs(counts: ReadonlyMap<number, number>, q: number): number | null {
  let total = 0;
  for (const n of counts.values()) total += n;
  if (total === 0) return null;
  const need = q * total;
  let seen = 0;
  for (const b of [...counts.keys()].sort((x, y) => x - y)) {
    seen += counts.get(b)!;
    if (seen >= need) return (b + 1) * ERROR_BUCKET_MS;
  }
  return (ERROR_BUCKETS + 1) * ERROR_BUCKET_MS;
}
