// The cascade reflex (seed 004 CascadeReflex; seed 002 §6.1 CASCADE_FAILURE): failures of 3 or
// more components inside a 1 s window of event time are a cascade. The reflex fires once per
// episode, when the distinct failing components reach the minimum; components that fail while it
// is tripped join the episode (their breakers open too); the episode ends when the window holds
// fewer than the minimum again. Pure.

export interface CascadePolicy {
  readonly windowUs: number;
  readonly minComponents: number;
}

export const SEED_CASCADE_POLICY: CascadePolicy = { windowUs: 1_000_000, minComponents: 3 };

export interface Failure {
  readonly at: number;
  readonly componentId: string;
  /** The observation that reported it, for the witness's causal chain. */
  readonly eventId: string;
  readonly what: 'REQUEST_END' | 'AGENT_DOWN';
}

export type Reflex =
  | ({ readonly status: 'calm' } & Window)
  | ({ readonly status: 'tripped'; readonly since: number; readonly components: readonly string[] } & Window);

export const CALM: Reflex = { status: 'calm', log: [], start: 0, end: 0, counts: new Map() };

export type ReflexInput =
  | { readonly kind: 'failure'; readonly failure: Failure }
  | { readonly kind: 'time'; readonly at: number };

export type ReflexFact =
  /** Components sorted; counts by component; chain = the window's failures, oldest first. */
  | { readonly kind: 'cascade'; readonly at: number; readonly components: readonly string[]; readonly counts: ReadonlyMap<string, number>; readonly chain: readonly Failure[] }
  | { readonly kind: 'joined'; readonly at: number; readonly componentId: string };

const atOf = (i: ReflexInput) => (i.kind === 'failure' ? i.failure.at : i.at);

/**
 * The failures of the window are `log[start, end)`: the log is shared by successive windows and
 * only ever appended to (a window that is not its log's newest copies before appending), so a
 * failure costs no copy of the window. Counts by component are kept alongside. A mass outage
 * puts thousands of failures in one window; copying or recounting it per input made the fold
 * quadratic.
 */
interface Window { readonly log: readonly Failure[]; readonly start: number; readonly end: number; readonly counts: ReadonlyMap<string, number> }

export const failuresOf = (w: Window): readonly Failure[] => w.log.slice(w.start, w.end);

/** The window at `at`: seed 004 drops failures older than at - window; the clock never goes back. */
function windowAt(w: Window, add: Failure | undefined, at: number, p: CascadePolicy): Window {
  const cutoff = at - p.windowUs;
  let start = w.start;
  while (start < w.end && w.log[start]!.at < cutoff) start++;
  if (start === w.start && !add) return w;
  const counts = new Map(w.counts);
  for (let i = w.start; i < start; i++) {
    const c = w.log[i]!.componentId;
    const n = counts.get(c)! - 1;
    if (n > 0) counts.set(c, n); else counts.delete(c);
  }
  if (!add) return { log: w.log, start, end: w.end, counts };
  counts.set(add.componentId, (counts.get(add.componentId) ?? 0) + 1);
  // Appending is safe only to the newest window of a log; an older one (a spec folding a state
  // twice) takes its own copy. A log mostly behind its start is compacted now and then.
  const owned = w.end === w.log.length && start < 4096;
  const log = (owned ? w.log : w.log.slice(start, w.end)) as Failure[];
  const base = owned ? start : 0;
  log.push(add);
  return { log, start: base, end: log.length, counts };
}

export function decide(r: Reflex, input: ReflexInput, p: CascadePolicy): ReflexFact[] {
  if (input.kind !== 'failure') return [];
  const at = atOf(input);
  const stillTripped = r.status === 'tripped' && windowAt(r, undefined, at, p).counts.size >= p.minComponents;
  if (stillTripped) {
    return r.components.includes(input.failure.componentId) ? [] : [{ kind: 'joined', at, componentId: input.failure.componentId }];
  }
  // Below the minimum before this failure, only a component new to the window can reach it.
  const before = windowAt(r, undefined, at, p);
  if (before.counts.has(input.failure.componentId) || before.counts.size + 1 < p.minComponents) return [];
  const counts = new Map(before.counts).set(input.failure.componentId, 1);
  return [{ kind: 'cascade', at, components: [...counts.keys()].sort(), counts, chain: [...failuresOf(before), input.failure] }];
}

export function evolve(r: Reflex, e: ReflexInput | ReflexFact, p: CascadePolicy): Reflex {
  switch (e.kind) {
    case 'failure':
    case 'time': {
      const w = windowAt(r, e.kind === 'failure' ? e.failure : undefined, atOf(e), p);
      if (r.status === 'tripped' && w.counts.size >= p.minComponents) return { ...r, ...w };
      return { status: 'calm', ...w };
    }
    case 'cascade':
      return { status: 'tripped', log: r.log, start: r.start, end: r.end, counts: r.counts, since: e.at, components: e.components };
    case 'joined':
      return r.status === 'tripped' ? { ...r, components: [...r.components, e.componentId].sort() } : r;
    default: { const never: never = e; return never; }
  }
}
