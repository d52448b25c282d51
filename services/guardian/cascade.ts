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
  | { readonly status: 'calm'; readonly recent: readonly Failure[] }
  | { readonly status: 'tripped'; readonly recent: readonly Failure[]; readonly since: number; readonly components: readonly string[] };

export const CALM: Reflex = { status: 'calm', recent: [] };

export type ReflexInput =
  | { readonly kind: 'failure'; readonly failure: Failure }
  | { readonly kind: 'time'; readonly at: number };

export type ReflexFact =
  /** Components sorted; counts by component; chain = the window's failures, oldest first. */
  | { readonly kind: 'cascade'; readonly at: number; readonly components: readonly string[]; readonly counts: ReadonlyMap<string, number>; readonly chain: readonly Failure[] }
  | { readonly kind: 'joined'; readonly at: number; readonly componentId: string };

const atOf = (i: ReflexInput) => (i.kind === 'failure' ? i.failure.at : i.at);

/** The window at `at`: seed 004 drops failures older than at - window. */
function windowAt(recent: readonly Failure[], add: Failure | undefined, at: number, p: CascadePolicy): Failure[] {
  const cutoff = at - p.windowUs;
  const kept = recent.filter((f) => f.at >= cutoff);
  if (add) kept.push(add);
  return kept;
}

function counts(recent: readonly Failure[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const f of recent) m.set(f.componentId, (m.get(f.componentId) ?? 0) + 1);
  return m;
}

export function decide(r: Reflex, input: ReflexInput, p: CascadePolicy): ReflexFact[] {
  if (input.kind !== 'failure') return [];
  const at = atOf(input);
  const recent = windowAt(r.recent, input.failure, at, p);
  const byComponent = counts(recent);
  const stillTripped = r.status === 'tripped' && distinctBefore(r, at, p) >= p.minComponents;
  if (stillTripped) {
    return r.components.includes(input.failure.componentId) ? [] : [{ kind: 'joined', at, componentId: input.failure.componentId }];
  }
  if (byComponent.size < p.minComponents) return [];
  return [{ kind: 'cascade', at, components: [...byComponent.keys()].sort(), counts: byComponent, chain: recent }];
}

/** Distinct components left in the window at `at` before the new input. */
const distinctBefore = (r: Reflex, at: number, p: CascadePolicy) => counts(windowAt(r.recent, undefined, at, p)).size;

export function evolve(r: Reflex, e: ReflexInput | ReflexFact, p: CascadePolicy): Reflex {
  switch (e.kind) {
    case 'failure':
    case 'time': {
      const at = atOf(e);
      const recent = windowAt(r.recent, e.kind === 'failure' ? e.failure : undefined, at, p);
      if (r.status === 'tripped' && counts(recent).size >= p.minComponents) return { ...r, recent };
      return { status: 'calm', recent };
    }
    case 'cascade':
      return { status: 'tripped', recent: r.recent, since: e.at, components: e.components };
    case 'joined':
      return r.status === 'tripped' ? { ...r, components: [...r.components, e.componentId].sort() } : r;
    default: { const never: never = e; return never; }
  }
}
