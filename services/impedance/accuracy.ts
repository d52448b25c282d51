// Prediction accuracy (seed 002 §11.1 impedance_prediction_accuracy: actual vs predicted
// arrival, target within 50 ms for 90 % of messages; conflicts over the last hour). Pure.
//
// Counted where the acks are folded, so a summary's accuracy is a fact of the log positions it
// names: the agent-ack fold counts each ack it takes into the agent's tally (ack-fold.ts: a
// re-sent ack or a replayed tail is not taken, and counts nothing), in cells of 5-minute buckets
// by the ack's event time; the partition's fold keeps the sum of its agents' cells
// (AccuracyTotals, partition-fold.ts), written to Redis with the partition's fold position and
// read with it (registry-store.ts); a summary sums the partitions' cells over the hour before
// its tick (windowAccuracy). The agents' cells travel in the changelog's ack tally, so a new
// owner restores the sum from the entries and the acks it replays.
import type { PredictionAccuracy } from './summaries';

export const WITHIN_MS = 50;
export const ERROR_BUCKET_MS = 10;
/** Errors of 1 s or more share the last histogram bucket. */
export const ERROR_BUCKETS = 100;
export const ACCURACY_BUCKET_MS = 300_000;
export const ACCURACY_WINDOW_BUCKETS = 12;
/**
 * Buckets kept behind the newest ack (an agent's, or a partition's when written): two windows,
 * so a summary whose tick is up to an hour behind an ack already folded still reads its whole
 * hour (acks and heartbeats are folded from two topics, not in step).
 */
export const ACCURACY_KEEP_BUCKETS = 2 * ACCURACY_WINDOW_BUCKETS;

/** Cell keys besides the error histogram's buckets 0..ERROR_BUCKETS. */
export const CONFLICT_KEY = -2;
export const WITHIN_KEY = -1;

/**
 * Accuracy counts as int32 triples (5-minute bucket index since the epoch, key, count), sorted
 * by bucket then key, every count above 0. Keys: an error histogram bucket (a measured ack: the
 * bucket's samples are the sum of its histogram), WITHIN_KEY (measured within 50 ms),
 * CONFLICT_KEY (CONFLICT acks). Never changed in place: a count makes new cells.
 */
export type AccuracyCells = Int32Array;
export const NO_CELLS: AccuracyCells = new Int32Array(0);

export interface AckMeasure {
  readonly errorMs: number;
  readonly within: boolean;
  /** Histogram bucket of |error|: [10 b, 10 (b + 1)) ms. */
  readonly bucket: number;
}

/** What one ack folded adds: at its 5-minute bucket, its arrival measured (or not) and whether it reports a conflict. */
export interface AckCount {
  readonly bucket: number;
  readonly measure: AckMeasure | null;
  readonly conflict: boolean;
}

export function measureArrival(actualUs: number, predictedUs: number): AckMeasure {
  const errorMs = Math.abs(actualUs - predictedUs) / 1000;
  return { errorMs, within: errorMs <= WITHIN_MS, bucket: Math.min(ERROR_BUCKETS, Math.floor(errorMs / ERROR_BUCKET_MS)) };
}

export const accuracyBucketOf = (atUs: number): number => Math.floor(Math.floor(atUs / 1000) / ACCURACY_BUCKET_MS);

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

const newestBucket = (cells: AccuracyCells): number => (cells.length === 0 ? -Infinity : cells[cells.length - 3]!);

/**
 * `cells` with one ack counted; the buckets ACCURACY_KEEP_BUCKETS behind the newest are dropped
 * (the same whatever order the acks came in). The same cells when it adds nothing.
 */
export function countAck(cells: AccuracyCells, c: AckCount): AccuracyCells {
  const adds: number[] = [];
  if (c.conflict) adds.push(CONFLICT_KEY);
  if (c.measure?.within) adds.push(WITHIN_KEY);
  if (c.measure) adds.push(c.measure.bucket);
  const newest = Math.max(c.bucket, newestBucket(cells));
  const oldest = newest - ACCURACY_KEEP_BUCKETS;
  if (adds.length === 0 || c.bucket <= oldest) return cells;
  const out: number[] = [];
  let j = 0;
  const put = (b: number, k: number, n: number) => { out.push(b, k, n); };
  for (let i = 0; i < cells.length; i += 3) {
    const b = cells[i]!, k = cells[i + 1]!, n = cells[i + 2]!;
    if (b <= oldest) continue;
    // The added keys (ascending) go before the first cell past them.
    while (j < adds.length && (c.bucket < b || (c.bucket === b && adds[j]! < k))) put(c.bucket, adds[j++]!, 1);
    if (j < adds.length && c.bucket === b && adds[j] === k) { put(b, k, n + 1); j++; continue; }
    put(b, k, n);
  }
  while (j < adds.length) put(c.bucket, adds[j++]!, 1);
  return Int32Array.from(out);
}

/** The cells of `cells` within ACCURACY_KEEP_BUCKETS of its newest bucket. */
export function recentCells(cells: AccuracyCells): AccuracyCells {
  const oldest = newestBucket(cells) - ACCURACY_KEEP_BUCKETS;
  let i = 0;
  while (i < cells.length && cells[i]! <= oldest) i += 3;
  return i === 0 ? cells : cells.slice(i);
}

/** Accuracy over the hour before `atMs` (its 5-minute bucket and the 11 before), summed over `parts`. */
export function windowAccuracy(parts: Iterable<AccuracyCells>, atMs: number): PredictionAccuracy {
  const last = Math.floor(atMs / ACCURACY_BUCKET_MS);
  const first = last - ACCURACY_WINDOW_BUCKETS + 1;
  let samples = 0, within = 0, conflicts = 0;
  const hist = new Map<number, number>();
  for (const cells of parts) {
    for (let i = 0; i < cells.length; i += 3) {
      const b = cells[i]!, k = cells[i + 1]!, n = cells[i + 2]!;
      if (b < first || b > last) continue;
      if (k === CONFLICT_KEY) conflicts += n;
      else if (k === WITHIN_KEY) within += n;
      else { samples += n; hist.set(k, (hist.get(k) ?? 0) + n); }
    }
  }
  return { samples, within50ms: within, p90ErrorMs: histogramQuantileMs(hist, 0.9), conflicts };
}

const validKey = (k: number) => k === CONFLICT_KEY || k === WITHIN_KEY || (k >= 0 && k <= ERROR_BUCKETS);

/** Cells as read back (a changelog entry, Redis): triples with a known key and a positive count, in order; others dropped. */
export function cellsOf(values: ArrayLike<number>): AccuracyCells {
  const out: number[] = [];
  let pb = -Infinity, pk = -Infinity;
  for (let i = 0; i + 2 < values.length; i += 3) {
    const b = values[i]!, k = values[i + 1]!, n = values[i + 2]!;
    if (!Number.isInteger(b) || !validKey(k) || !Number.isInteger(n) || n <= 0 || b < pb || (b === pb && k <= pk)) continue;
    out.push(b, k, n);
    pb = b; pk = k;
  }
  return Int32Array.from(out);
}

/** Redis's form: the triples as decimal numbers separated by commas ('' for none). */
export const encodeCells = (cells: AccuracyCells): string => cells.join(',');
export const decodeCells = (s: string): AccuracyCells => (s === '' ? NO_CELLS : cellsOf(s.split(',').map(Number)));

// A cell of the totals as one number: bucket * STRIDE + key - CONFLICT_KEY (keys span 103 values).
const STRIDE = 128;
const cellKey = (b: number, k: number) => b * STRIDE + (k - CONFLICT_KEY);

/**
 * The sum of a partition's agents' cells, changed as their tallies change; a batch's changes
 * can be taken back (rollback) until committed, as the fold's are.
 */
export class AccuracyTotals {
  private readonly counts = new Map<number, number>();
  /** Counts before the batch under way changed them (absent: 0). */
  private undo = new Map<number, number>();
  private snapshot: AccuracyCells | undefined;

  /** An agent's cells went from `before` to `after`. */
  change(before: AccuracyCells, after: AccuracyCells): void {
    if (before === after) return;
    // Both sorted: a merge, touching only the cells that differ.
    let i = 0, j = 0;
    while (i < before.length || j < after.length) {
      const bi = i < before.length ? cellKey(before[i]!, before[i + 1]!) : Infinity;
      const aj = j < after.length ? cellKey(after[j]!, after[j + 1]!) : Infinity;
      if (bi === aj) {
        const d = after[j + 2]! - before[i + 2]!;
        if (d !== 0) this.add(bi, d);
        i += 3; j += 3;
      } else if (bi < aj) { this.add(bi, -before[i + 2]!); i += 3; }
      else { this.add(aj, after[j + 2]!); j += 3; }
    }
  }

  /** Adds an agent's cells (a restored entry). */
  restore(cells: AccuracyCells): void { this.change(NO_CELLS, cells); }

  private add(key: number, d: number): void {
    const old = this.counts.get(key) ?? 0;
    if (!this.undo.has(key)) this.undo.set(key, old);
    const n = old + d;
    if (n === 0) this.counts.delete(key); else this.counts.set(key, n);
    this.snapshot = undefined;
  }

  /** The totals' recent cells (recentCells): what is written with the partition's position. */
  cells(): AccuracyCells {
    if (this.snapshot) return this.snapshot;
    const keys = [...this.counts.keys()].sort((x, y) => x - y);
    const out = new Int32Array(keys.length * 3);
    keys.forEach((key, i) => {
      const k = ((key % STRIDE) + STRIDE) % STRIDE;
      out[3 * i] = (key - k) / STRIDE;
      out[3 * i + 1] = k + CONFLICT_KEY;
      out[3 * i + 2] = this.counts.get(key)!;
    });
    this.snapshot = recentCells(out);
    return this.snapshot;
  }

  commit(): void { if (this.undo.size > 0) this.undo = new Map(); }

  rollback(): void {
    for (const [key, n] of this.undo) if (n === 0) this.counts.delete(key); else this.counts.set(key, n);
    if (this.undo.size > 0) this.snapshot = undefined;
    this.undo = new Map();
  }
}
