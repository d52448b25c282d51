// The latency-regression witness (seed 004 SelfOptimizingSystem): per component the last 100
// latency samples; once there are 10, a regression is the mean of the newest 10 above twice the
// mean of the oldest 10 (integer means, as the seed's u64 division). A regression is reported
// once, when it begins, and again only after it has ended. Pure.

export const WINDOW = 100;
export const EDGE = 10;

export interface LatencyTrack {
  readonly samples: readonly number[];
  readonly regressed: boolean;
}

export const NO_SAMPLES: LatencyTrack = { samples: [], regressed: false };

export interface Regression {
  readonly kind: 'regressed';
  readonly at: number;
  readonly componentId: string;
  readonly baselineUs: number;
  readonly recentUs: number;
}

const mean = (xs: readonly number[]) => Math.floor(xs.reduce((a, b) => a + b, 0) / xs.length);

/** Oldest-10 and newest-10 integer means; undefined below 10 samples. */
export function edges(samples: readonly number[]): { readonly baselineUs: number; readonly recentUs: number } | undefined {
  if (samples.length < EDGE) return undefined;
  return { baselineUs: mean(samples.slice(0, EDGE)), recentUs: mean(samples.slice(-EDGE)) };
}

const isRegressed = (e: ReturnType<typeof edges>) => e !== undefined && e.recentUs > e.baselineUs * 2;

function slide(samples: readonly number[], latencyUs: number): number[] {
  const next = samples.length >= WINDOW ? samples.slice(samples.length - WINDOW + 1) : samples.slice();
  next.push(latencyUs);
  return next;
}

export function decide(t: LatencyTrack, componentId: string, latencyUs: number, at: number): Regression[] {
  if (t.regressed) return [];
  const e = edges(slide(t.samples, latencyUs));
  return isRegressed(e) ? [{ kind: 'regressed', at, componentId, ...e! }] : [];
}

export function evolve(t: LatencyTrack, latencyUs: number): LatencyTrack {
  const samples = slide(t.samples, latencyUs);
  return { samples, regressed: isRegressed(edges(samples)) };
}
