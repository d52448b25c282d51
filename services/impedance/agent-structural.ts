// Agents' structure from their heartbeats (issue 19: "agents' heartbeats report theirs"; seed 004
// QueueDepth): an agent whose reported queue depth crosses the limit, upwards or back, is a
// StructuralEventObserved QUEUE_DEPTH of the agent as a component. Only the crossings: the
// guardian folds one partition for the whole mesh and must not get every heartbeat. Decided by
// the fold from the heartbeat and the agent's previous depth, inside the transaction that
// consumes the heartbeat, so a replay of mesh.heartbeats reproduces them. Pure.
import type { HeartbeatReceived, StructuralEventObserved } from '../../schemas/generated/events';
import { derivedEventId } from '../runtime/ids';

/** The crossing `hb` makes of `limit` from the agent's previous depth (undefined: first heartbeat, 0 before), or null. */
export function queueCrossing(before: number | undefined, hb: HeartbeatReceived, limit: number): StructuralEventObserved | null {
  if (!(limit > 0)) return null;
  const over = hb.queue_depth > limit;
  if (over === (before ?? 0) > limit) return null;
  return {
    type: 'StructuralEventObserved',
    meta: { event_id: derivedEventId(hb.meta.event_id, 'queue-depth'), correlation_id: hb.agent_id, causation_id: hb.meta.event_id, occurred_at: hb.meta.occurred_at, producer: 'impedance', sequence: null },
    component_id: hb.agent_id, kind: 'QUEUE_DEPTH', request_id: null, success: null, peer_component_id: null, resource: null, value: null,
    queue_depth: hb.queue_depth, circuit_state: null, latency_us: null,
    error: over ? `queue depth ${hb.queue_depth} over the ${limit}-message limit (cluster ${hb.cluster_id})` : null,
  };
}
