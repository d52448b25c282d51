// Guardian inputs for specs: agent state changes, structural observations, summaries and ticks
// at given event times (us), with deterministic ids.
import type { AgentStateChanged, GuardianClockTicked, MeshSummarized, StructuralEventObserved } from '../../../schemas/generated/events';
import { derivedEventId } from '../../../services/runtime/ids';

const meta = (id: string, at: number, producer = 'spec') => ({ event_id: derivedEventId('spec', id), correlation_id: id, causation_id: null, occurred_at: at, producer, sequence: null });

export function agent(agentId: string, clusterId: string, sectorId: string, newState: AgentStateChanged['new_state'], at: number, previous: AgentStateChanged['previous_state'] = newState === 'ACTIVE' ? 'OFFLINE' : 'ACTIVE'): AgentStateChanged {
  return {
    type: 'AgentStateChanged', meta: meta(`${agentId}@${at}:${newState}`, at), agent_id: agentId, sector_id: sectorId, cluster_id: clusterId,
    previous_state: previous, new_state: newState, cause: newState === 'OFFLINE' ? 'HEARTBEAT_TIMEOUT' : 'HEARTBEAT_RESUMED', last_heartbeat_at: null, detail: null,
  };
}

export function tick(at: number): GuardianClockTicked {
  return { type: 'GuardianClockTicked', meta: meta(`tick@${at}`, at), tick_at: at };
}

export function summary(active: number, total: number, at: number): MeshSummarized {
  return {
    type: 'MeshSummarized', meta: meta(`summary@${at}:${active}/${total}`, at), total_agents: total, active_agents: active, active_rate: total ? active / total : 0,
    global_mean_impedance: 0, global_p95_impedance: 0, sectors_healthy: 0, sectors_degraded: 0, prediction_samples: 0, prediction_within_50ms: 0,
    prediction_hit_rate: null, prediction_p90_error_ms: null, conflicts_last_hour: 0, registry_positions: null,
  };
}

type Kind = StructuralEventObserved['kind'];
let seq = 0;
export function structural(componentId: string, kind: Kind, at: number, o: Partial<Pick<StructuralEventObserved, 'request_id' | 'success' | 'peer_component_id' | 'latency_us' | 'queue_depth'>> = {}): StructuralEventObserved {
  return {
    type: 'StructuralEventObserved', meta: meta(`${componentId}@${at}:${kind}:${seq++}`, at), component_id: componentId, kind,
    request_id: o.request_id ?? null, success: o.success ?? null, peer_component_id: o.peer_component_id ?? null, resource: null, value: null,
    queue_depth: o.queue_depth ?? null, circuit_state: null, latency_us: o.latency_us ?? null, error: null,
  };
}

export const S = 1_000_000;
