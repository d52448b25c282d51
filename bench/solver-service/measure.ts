// The two measurements, written once for both paths. A path is where records go in (a topic and
// key) and a Coverage that says, per arrived output, up to which input offset it reflects:
//   baseline: the plain topic read back, each record covers its own offset;
//   service:  solver.costs in, solver.iterations read back, an IterationCompleted covers its
//             applied_through offset of solver.costs.
import type { BenchProducer, Sent } from './clients';

/** Arrival time of the first output that covered each input offset, in arrival order. */
export class Coverage {
  private readonly marks: Array<{ at: number; through: number }> = [];
  private through = -1;
  private waiters: Array<{ offset: number; resolve: (at: number) => void }> = [];

  /** An output arrived at `at` reflecting inputs up to offset `through` (inclusive). */
  mark(at: number, through: number): void {
    if (through <= this.through) return;
    this.through = through;
    this.marks.push({ at, through });
    this.waiters = this.waiters.filter((w) => (w.offset <= through ? (w.resolve(at), false) : true));
  }

  /** Resolves with the arrival time of the output that first covers `offset`. */
  covered(offset: number): Promise<number> {
    const hit = this.find(offset);
    if (hit !== undefined) return Promise.resolve(hit);
    return new Promise((resolve) => this.waiters.push({ offset, resolve }));
  }

  find(offset: number): number | undefined {
    return this.coveredBy(offset)?.at;
  }

  /** The first output that covered `offset`: when it arrived and through which input offset. */
  coveredBy(offset: number): { readonly at: number; readonly through: number } | undefined {
    let lo = 0, hi = this.marks.length - 1, best: { at: number; through: number } | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.marks[mid]!.through >= offset) { best = this.marks[mid]!; hi = mid - 1; } else lo = mid + 1;
    }
    return best;
  }
}

export interface Path {
  readonly topic: string;
  readonly key: string;
  /** The coverage of the partition the key went to. */
  readonly coverage: (partition: number) => Coverage;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LatencyFigures {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly count: number;
  /** The distribution: quantile q/100 for q = 0..100 (ms), for the report's CDF. */
  readonly quantiles: number[];
  /**
   * The same latencies split by what closed the update's group: `own` when the output covering
   * it reflects inputs through an offset this run sent (a flush of its own, or of a later update),
   * `tick` when through an offset it did not send (the service's own tick on the cost partition:
   * a deferred flush). Only where the path has such outputs (the service).
   */
  readonly closedBy?: { readonly own?: LatencyFigures; readonly tick?: LatencyFigures };
}

/** Records to send: encoded already, or encoded (and dated) when record k is sent. */
export type Values = readonly Buffer[] | { readonly count: number; at(k: number): Buffer };

/**
 * Sends `values` at `rate` per second (by the clock, so a late tick sends what is due), then
 * returns per record the time from its produce() call to the arrival of the first output
 * covering it.
 */
export async function pacedLatency(producer: BenchProducer, path: Path, values: Values, rate: number, timeoutMs = 60_000): Promise<LatencyFigures> {
  const sent: Sent[] = [];
  const count = isStamped(values) ? values.count : values.length;
  const at = isStamped(values) ? (k: number) => values.at(k) : (k: number) => values[k]!;
  const t0 = performance.now();
  while (sent.length < count) {
    const due = Math.min(count, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
    while (sent.length < due) sent.push(producer.send(path.topic, path.key, at(sent.length)));
    await sleep(1);
  }
  await producer.drain();
  const last = sent.at(-1)!;
  const coverage = path.coverage(last.partition);
  await within(coverage.covered(last.offset), timeoutMs, `an output covering offset ${last.offset}`);
  const ms = sent.map((s) => coverage.find(s.offset)! - s.at);
  const ours = new Set(sent.map((s) => s.offset));
  const own: number[] = [], tick: number[] = [];
  sent.forEach((s, k) => (ours.has(coverage.coveredBy(s.offset)!.through) ? own : tick).push(ms[k]!));
  return { ...figures(ms), closedBy: { own: own.length > 0 ? figures(own) : undefined, tick: tick.length > 0 ? figures(tick) : undefined } };
}

/** Sends every value as fast as the client takes them; ms from the first send to the arrival covering the last. */
export async function burst(producer: BenchProducer, path: Path, values: readonly Buffer[], timeoutMs = 300_000): Promise<{ ms: number; lastOffset: number }> {
  const t0 = performance.now();
  let last: Sent | undefined;
  for (let k = 0; k < values.length; k++) {
    last = producer.send(path.topic, path.key, values[k]!);
    // Yield now and then so delivery reports and the consumer keep running.
    if (k % 5000 === 4999) await new Promise((r) => setImmediate(r));
  }
  await producer.drain();
  const at = await within(path.coverage(last!.partition).covered(last!.offset), timeoutMs, `an output covering offset ${last!.offset}`);
  return { ms: at - t0, lastOffset: last!.offset };
}

export function figures(ms: number[]): LatencyFigures {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  return { p50: q(0.5), p99: q(0.99), max: s.at(-1)!, count: s.length, quantiles: [...Array(101).keys()].map((k) => (k === 0 ? s[0]! : q(k / 100))) };
}

export const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms); });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

function isStamped(v: Values): v is { readonly count: number; at(k: number): Buffer } {
  return !Array.isArray(v);
}
