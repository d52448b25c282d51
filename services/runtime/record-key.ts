// The key a record must carry, read from its event: the topic's declared key kind names the
// field. A record keyed otherwise lands on a partition that does not own its entity; folded
// there it would be an orphan, or give one entity two owners, so the runner refuses it.
import type { SolvermeshEvent } from '../../schemas/generated/events';
import { TOPICS, type KeyKind } from '../../topics/catalog';

export type KeyOf = (event: SolvermeshEvent) => string | undefined;

function field(name: 'session_id' | 'agent_id' | 'conflict_id'): KeyOf {
  return (event) => {
    const v = (event as unknown as Record<string, unknown>)[name];
    return typeof v === 'string' ? v : undefined;
  };
}

const BY_KIND: Readonly<Record<KeyKind, KeyOf | undefined>> = {
  session_id: field('session_id'),
  agent_id: field('agent_id'),
  conflict_id: field('conflict_id'),
  correlation_id: (event) => event.meta.correlation_id,
  // Summaries and breaker states are keyed by a scope the event spells several ways.
  scope: undefined,
};

/** The key check of a logical topic; undefined for topics outside the catalog or keyed by scope. */
export function keyOfTopic(topic: string): KeyOf | undefined {
  const spec = TOPICS.find((t) => t.name === topic);
  return spec ? BY_KIND[spec.key] : undefined;
}

/** The reason a record's key does not match its event, or undefined when it does. */
export function misKeyed(keyOf: KeyOf | undefined, key: Buffer | null, event: SolvermeshEvent): string | undefined {
  const want = keyOf?.(event);
  if (want === undefined) return undefined;
  const got = key === null ? null : key.toString('utf8');
  if (got === want) return undefined;
  return `${event.type} for ${JSON.stringify(want)} is keyed ${got === null ? 'null' : JSON.stringify(got.length > 80 ? `${got.slice(0, 80)}…` : got)}: it would land on a partition that does not own it`;
}
