// Which mesh.impedance entries a new owner may start from. Anyone who can produce to the
// changelog could otherwise choose the state a restart begins with: an agent's score, a made-up
// agent, or a checkpoint position past the log that skips the heartbeats after it. An entry is
// taken only when it can be the service's own checkpoint; an agent's newest such entry wins.
import type { ImpedanceUpdated } from '../../schemas/generated/events';
import { derivedEventId } from '../runtime/ids';
import type { EventValidator } from '../runtime/processor';
import { PRODUCER } from './agent-fold';

/** Exclusive upper bounds of the positions an entry of one partition may claim: what the group committed, else the log's end. */
export interface ChangelogBounds {
  readonly heartbeats: number;
  readonly acks: number;
}

/** Why `e`, read under `key`, cannot be the service's checkpoint; undefined when it can. */
export function entryRefusal(e: ImpedanceUpdated, key: string | null, bounds: ChangelogBounds, validate: EventValidator): string | undefined {
  if (e.meta.producer !== PRODUCER) return `producer ${e.meta.producer}`;
  if (key !== e.agent_id) return `keyed ${JSON.stringify(key)}, for agent ${e.agent_id}`;
  const problems = validate(e);
  if (problems.length > 0) return `invalid: ${problems.slice(0, 3).join('; ')}`;
  // toImpedanceUpdated's id: the heartbeat it reflects, the revision and the state.
  const id = derivedEventId(e.last_heartbeat_event_id ?? e.meta.causation_id ?? '', `impedance:${e.meta.sequence}:${e.operational_state}`);
  if (e.meta.event_id !== id) return `event id ${e.meta.event_id} does not derive from its heartbeat, revision and state`;
  if (e.applied_through !== null && !(e.applied_through < bounds.heartbeats)) return `claims mesh.heartbeats through offset ${e.applied_through}, beyond ${bounds.heartbeats - 1}`;
  if (e.acks_applied_through !== null && !(e.acks_applied_through < bounds.acks)) return `claims mesh.agent-acks through offset ${e.acks_applied_through}, beyond ${bounds.acks - 1}`;
  return undefined;
}
