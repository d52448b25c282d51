// The impedance numbers of one agent (seed 002 §2.3, §3.1, §4.1), pure.
//
// Impedance score Z (0-1000), an expected delivery delay in ms, capped:
//
//   L = p50 of the reported latencies in the window (ms)      (current_latency_ms)
//   P = p50 of the reported processing times in the window (ms) (current_processing_ms)
//   Q = queue depth at the last heartbeat
//   D = drift coefficient = population std-dev of the latency window / its mean
//   R = reliability = successes / attempts over the last hour: heartbeats received or missed,
//       and acks on time or late (ack-fold.ts says which acks count and how)
//
//   network    = L / 2                  one way, as §3.1 halves current_latency_ms
//   processing = P * (1 + 0.1 * Q)      §3.1 queue_factor: each queued item adds 10 %
//   buffer     = D * L                  two std-devs of the one-way latency (sigma = D * L / 2)
//   Z = min(1000, (network + processing + buffer) / max(R, 0.1))
//
// Dividing by R is the expected number of attempts when a message gets through with
// probability R (geometric), floored at 0.1 so one bad hour costs at most 10x.
import { AGENT_CLASS_SYMBOLS, type AgentClass } from '../../schemas/generated/events';

export const HEARTBEAT_INTERVAL_MS = 5_000;
export const OFFLINE_AFTER_MS = 30_000;
export const WINDOW_SIZE = 12;
export const RELIABILITY_BUCKET_MS = 300_000;
export const RELIABILITY_BUCKETS = 12;
export const MAX_SCORE = 1000;
export const DEGRADED_SCORE = 800;
export const UNSTABLE_DRIFT = 0.5;
export const MIN_RELIABILITY = 0.1;

/** Seed 002 §3.1 estimate_processing_time base_times, ms. */
export const CLASS_BASE_PROCESSING_MS: Readonly<Record<AgentClass, number>> = {
  CLASS_A_EDGE: 10,
  CLASS_B_SERVERLESS: 50,
  CLASS_C_PERSISTENT: 200,
  CLASS_D_GPU: 100,
  CLASS_E_LOCAL: 150,
  CLASS_F_HUMAN: 60_000,
};

/** Middle of the seed 002 §2.2 typical latency ranges, ms (E "variable": taken as 150). */
export const CLASS_TYPICAL_LATENCY_MS: Readonly<Record<AgentClass, number>> = {
  CLASS_A_EDGE: 12.5,
  CLASS_B_SERVERLESS: 100,
  CLASS_C_PERSISTENT: 200,
  CLASS_D_GPU: 350,
  CLASS_E_LOCAL: 150,
  CLASS_F_HUMAN: 5_000,
};

export interface ScoreInputs {
  readonly latencyMs: number;
  readonly processingMs: number;
  readonly queueDepth: number;
  readonly drift: number;
  readonly reliability: number;
}

export function impedanceScore(x: ScoreInputs): number {
  return scoreOf(x.latencyMs, x.processingMs, x.queueDepth, x.drift, x.reliability);
}

/** impedanceScore without an inputs object (the fold's per-heartbeat call). */
export function scoreOf(latencyMs: number, processingMs: number, queueDepth: number, drift: number, reliability: number): number {
  const delay = latencyMs / 2 + processingMs * (1 + 0.1 * queueDepth) + drift * latencyMs;
  return Math.min(MAX_SCORE, delay / Math.max(reliability, MIN_RELIABILITY));
}

/** Score of a class's typical agent: typical latency, base processing, empty queue, no drift. */
export function nominalScore(cls: AgentClass): number {
  return impedanceScore({ latencyMs: CLASS_TYPICAL_LATENCY_MS[cls], processingMs: CLASS_BASE_PROCESSING_MS[cls], queueDepth: 0, drift: 0, reliability: 1 });
}

/**
 * Above this score an agent is DEGRADED: the seed's absolute 800 (§4.2), or an impedance
 * spike of more than 2x its class's nominal score (§6.1 IMPEDANCE_SPIKE), whichever is lower.
 * A class whose nominal score is already at the cap (F, humans) never degrades by score.
 */
export function degradedThreshold(cls: AgentClass): number {
  return THRESHOLD[cls];
}

// Per class once: the fold asks on every heartbeat.
const THRESHOLD = Object.fromEntries(AGENT_CLASS_SYMBOLS.map((cls) => {
  const nominal = nominalScore(cls);
  return [cls, nominal >= MAX_SCORE ? Infinity : Math.min(DEGRADED_SCORE, 2 * nominal)];
})) as Readonly<Record<AgentClass, number>>;

/** p50 by nearest rank (the lower middle for an even count); 0 for no samples. */
export function p50(xs: ArrayLike<number>): number {
  const n = xs.length;
  if (n === 0) return 0;
  // Insertion sort into a reused scratch array: windows are 12 long and this runs per heartbeat.
  const sorted = n <= scratch.length ? scratch : new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = xs[i]!;
    let j = i - 1;
    while (j >= 0 && sorted[j]! > x) { sorted[j + 1] = sorted[j]!; j--; }
    sorted[j + 1] = x;
  }
  return sorted[Math.ceil(n / 2) - 1]!;
}
const scratch = new Float64Array(64);

/** Population std-dev / mean; 0 with fewer than 2 samples or a zero mean. */
export function driftCoefficient(xs: ArrayLike<number>): number {
  const n = xs.length;
  if (n < 2) return 0;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += xs[i]!;
  const mean = sum / n;
  if (mean <= 0) return 0;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (xs[i]! - mean) ** 2;
  return Math.sqrt(sq / n) / mean;
}

/** Python's statistics.quantiles(data, n)[i - 1], 'exclusive' method, as the seed computes p95. */
export function quantile(xs: readonly number[], n: number, i: number): number {
  const data = [...xs].sort((a, b) => a - b);
  const ld = data.length;
  if (ld === 0) return 0;
  if (ld === 1) return data[0]!;
  const m = ld + 1;
  let j = Math.floor((i * m) / n);
  j = j < 1 ? 1 : j > ld - 1 ? ld - 1 : j;
  const delta = i * m - j * n;
  return (data[j - 1]! * (n - delta) + data[j]! * delta) / n;
}

/**
 * p95 as the seed writes it, statistics.quantiles(scores, n=20)[18], clamped to the observed
 * range: the exclusive method extrapolates past the maximum on small samples ([100, 300, 900]
 * gives 1380), which would leave the 0-1000 scale.
 */
export function p95(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  return Math.min(Math.max(...xs), Math.max(Math.min(...xs), quantile(xs, 20, 19)));
}

export interface ReliabilityBucket {
  /** floor(event time ms / RELIABILITY_BUCKET_MS). */
  readonly index: number;
  readonly received: number;
  readonly missed: number;
}

/** Heartbeats missed in a gap: one expected every 5 s, so a 12 s gap missed one. */
export function missedHeartbeats(gapMs: number): number {
  return Math.max(0, Math.round(gapMs / HEARTBEAT_INTERVAL_MS) - 1);
}

/** Adds one heartbeat (and the misses before it) at `atMs`; drops buckets older than an hour. */
export function recordHeartbeat(buckets: readonly ReliabilityBucket[], atMs: number, missed: number): ReliabilityBucket[] {
  const out = [...buckets];
  addHeartbeat(out, atMs, missed);
  return out;
}

/**
 * recordHeartbeat in place: `buckets` (in index order) is changed, the bucket objects are not,
 * except the last one when `ownLast` says nothing else holds it (it was made by the caller's
 * earlier heartbeats): a bucket object per heartbeat outlived the young generation.
 */
export function addHeartbeat(buckets: ReliabilityBucket[], atMs: number, missed: number, ownLast = false): void {
  const index = Math.floor(atMs / RELIABILITY_BUCKET_MS);
  let stale = 0;
  while (stale < buckets.length && buckets[stale]!.index <= index - RELIABILITY_BUCKETS) stale++;
  if (stale > 0) buckets.splice(0, stale);
  const last = buckets[buckets.length - 1];
  if (last && last.index === index) {
    if (ownLast) {
      const b = last as { received: number; missed: number };
      b.received += 1;
      b.missed += missed;
    } else buckets[buckets.length - 1] = { index, received: last.received + 1, missed: last.missed + missed };
  } else buckets.push({ index, received: 1, missed });
}

const NO_ACK_COUNTS = { onTime: 0, late: 0 } as const;

/**
 * Success rate over the last hour (the buckets within an hour of `atMs`), heartbeats and the
 * agent's acks together (`acks`: on time and late in the same hour); 1 without data.
 */
export function reliability(buckets: readonly ReliabilityBucket[], atMs: number, acks: { readonly onTime: number; readonly late: number } = NO_ACK_COUNTS): number {
  const index = Math.floor(atMs / RELIABILITY_BUCKET_MS);
  let ok = acks.onTime;
  let bad = acks.late;
  for (const b of buckets) {
    if (b.index <= index - RELIABILITY_BUCKETS) continue;
    ok += b.received;
    bad += b.missed;
  }
  return ok + bad === 0 ? 1 : ok / (ok + bad);
}
