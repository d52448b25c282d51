// The pattern learner (seed 004 PatternLearner): the calls made for one request form a trace;
// a trace completes with its request's successful end, and its signature (the sequence of
// caller -> callee pairs) names a coordination pattern whose expected latency (first call to
// last) is an EWMA with learning rate 0.1. A pattern is learned at 10 occurrences; a learned
// pattern's trace whose latency deviates from the expectation by more than the tolerance (0.5)
// is a deviation. Open traces are bounded: the oldest is dropped past `maxOpenTraces`. Pure.

export interface PatternPolicy {
  readonly learningRate: number;
  readonly tolerance: number;
  readonly learnedAt: number;
  readonly maxOpenTraces: number;
}

export const SEED_PATTERN_POLICY: PatternPolicy = { learningRate: 0.1, tolerance: 0.5, learnedAt: 10, maxOpenTraces: 10_000 };

export interface Call { readonly at: number; readonly from: string; readonly to: string }

export interface Pattern {
  readonly name: string;
  readonly participants: readonly string[];
  readonly sequence: ReadonlyArray<readonly [string, string]>;
  readonly expectedLatencyUs: number;
  readonly tolerance: number;
  readonly occurrences: number;
}

export interface Learner {
  /** By signature, in the order first seen. */
  readonly patterns: ReadonlyMap<string, Pattern>;
  /** Open traces by request id, oldest first. */
  readonly traces: ReadonlyMap<number, readonly Call[]>;
}

export const NO_PATTERNS: Learner = { patterns: new Map(), traces: new Map() };

export type LearnerInput =
  | { readonly kind: 'call'; readonly requestId: number; readonly call: Call }
  | { readonly kind: 'completed'; readonly requestId: number; readonly at: number };

export type LearnerFact =
  | { readonly kind: 'reinforced'; readonly signature: string; readonly name: string; readonly latencyUs: number; readonly created: boolean }
  | { readonly kind: 'learned'; readonly name: string }
  | { readonly kind: 'deviated'; readonly name: string; readonly expectedUs: number; readonly observedUs: number; readonly deviation: number; readonly trace: readonly Call[] };

export const signatureOf = (trace: readonly Call[]) => JSON.stringify(trace.map((c) => [c.from, c.to]));
const latencyOf = (trace: readonly Call[]) => trace[trace.length - 1]!.at - trace[0]!.at;

/** Seed 004 check_violation: the message of a trace that deviates from its learned pattern. */
export function violation(p: Pattern, latencyUs: number): { readonly deviation: number } | undefined {
  const deviation = Math.abs(latencyUs - p.expectedLatencyUs) / p.expectedLatencyUs;
  return deviation > p.tolerance ? { deviation } : undefined;
}

export function decide(l: Learner, input: LearnerInput, p: PatternPolicy): LearnerFact[] {
  if (input.kind === 'call') return [];
  const trace = l.traces.get(input.requestId);
  if (!trace || trace.length < 2) return [];
  const signature = signatureOf(trace);
  const latencyUs = latencyOf(trace);
  const known = l.patterns.get(signature);
  const out: LearnerFact[] = [];
  if (known && known.occurrences >= p.learnedAt) {
    const v = violation(known, latencyUs);
    if (v) out.push({ kind: 'deviated', name: known.name, expectedUs: known.expectedLatencyUs, observedUs: latencyUs, deviation: v.deviation, trace });
  }
  const name = known?.name ?? `Pattern_${l.patterns.size}`;
  out.push({ kind: 'reinforced', signature, name, latencyUs, created: !known });
  if ((known?.occurrences ?? 0) + 1 === p.learnedAt) out.push({ kind: 'learned', name });
  return out;
}

export function evolve(l: Learner, e: LearnerInput | LearnerFact, p: PatternPolicy): Learner {
  switch (e.kind) {
    case 'call': {
      const traces = new Map(l.traces);
      traces.set(e.requestId, [...(traces.get(e.requestId) ?? []), e.call]);
      while (traces.size > p.maxOpenTraces) traces.delete(traces.keys().next().value!);
      return { ...l, traces };
    }
    case 'completed': {
      if (!l.traces.has(e.requestId)) return l;
      const traces = new Map(l.traces);
      traces.delete(e.requestId);
      return { ...l, traces };
    }
    case 'reinforced': {
      const known = l.patterns.get(e.signature);
      const sequence: Array<readonly [string, string]> = JSON.parse(e.signature);
      const base: Pattern = known ?? {
        name: e.name, participants: sequence.flatMap(([a, b]) => [a, b]), sequence,
        expectedLatencyUs: e.latencyUs, tolerance: p.tolerance, occurrences: 0,
      };
      const expectedLatencyUs = Math.floor((1 - p.learningRate) * base.expectedLatencyUs + p.learningRate * e.latencyUs);
      return { ...l, patterns: new Map(l.patterns).set(e.signature, { ...base, occurrences: base.occurrences + 1, expectedLatencyUs }) };
    }
    case 'learned':
    case 'deviated':
      return l;
    default: { const never: never = e; return never; }
  }
}
