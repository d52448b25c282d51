// The guardian's facts as events. Ids derive from the input's event id and the fact's place
// among that input's facts, and every field from the fact, so folding the same log again gives
// the same bytes (DESIGN invariant 3).
import type {
  AgentCrashConfirmed, CausalLink, CircuitStateChanged, ComponentStateSnapshot, MeshFrozen, MeshThawed, OperationalModeChanged,
  StructuralEventObserved, StructuralWitnessRecorded,
} from '../../schemas/generated/events';
import { DEFAULT_LIMITS } from '../../schemas/validate';
import { derivedEventId } from '../runtime/ids';
import type { Emit } from '../runtime/processor';
import { breakerKey, nextProbeAt, recoveryTimeUs } from './breakers';
import type { Failure } from './cascade';
import type { ComponentSnapshot, GuardianFact } from './core';

export const PRODUCER = 'guardian';
export const CIRCUITS = 'mesh.circuits';
export const WITNESSES = 'mesh.witnesses';

export const outputEventId = (causeId: string, k: number) => derivedEventId(causeId, `guardian:${k}`);

/**
 * The scope key names the correlation, unless it is longer than a string may be: a cluster id at
 * the schemas' limit makes `CLUSTER:<id>` 8 characters too long, and the breaker change would be
 * refused (VALIDATION_FAILED) by every reader of mesh.circuits. Such a key is named by an id
 * derived from it (the record's key stays the scope key).
 */
export const correlationOf = (key: string): string => (key.length <= DEFAULT_LIMITS.maxStringLength ? key : derivedEventId(key, 'guardian:correlation'));

/** Texts that quote a component or cluster id (each up to the limit) cut to the limit, for the same reason. */
const bounded = (text: string): string => (text.length <= DEFAULT_LIMITS.maxStringLength ? text : `${text.slice(0, DEFAULT_LIMITS.maxStringLength - 1)}…`);

const meta = (causeId: string, k: number, key: string, at: number) => ({
  event_id: outputEventId(causeId, k), correlation_id: correlationOf(key), causation_id: causeId, occurred_at: at, producer: PRODUCER, sequence: null,
});

const states = (m: ReadonlyMap<string, ComponentSnapshot>): ComponentStateSnapshot[] => [...m].map(([id, s]) => ({
  component_id: id, latency_p99_us: s.latencyP99Us, error_rate: s.errorRate, queue_depth: s.queueDepth, circuit_state: s.circuitState,
}));

// Seed 004 records every failure of a chain as a failed request end; an agent going down is its cluster's.
const link = (f: Failure): CausalLink => ({ component_id: f.componentId, kind: 'REQUEST_END', event_id: f.eventId });

function witness(causeId: string, k: number, key: string, at: number, w: Omit<StructuralWitnessRecorded, 'type' | 'meta' | 'witness_id'>): StructuralWitnessRecorded {
  return { type: 'StructuralWitnessRecorded', meta: meta(causeId, k, key, at), witness_id: derivedEventId(causeId, `witness:${k}`), ...w };
}

/** The events of one input's facts, with their topics and keys. */
export function toEmits(causeId: string, facts: readonly GuardianFact[]): Emit[] {
  return facts.map((f, k) => toEmit(causeId, k, f));
}

function toEmit(causeId: string, k: number, f: GuardianFact): Emit {
  switch (f.kind) {
    case 'changed': {
      const key = breakerKey(f.scope, f.id);
      const event: CircuitStateChanged = {
        type: 'CircuitStateChanged', meta: meta(causeId, k, key, f.at), scope: f.scope, scope_id: f.id,
        previous_state: f.from, new_state: f.to.status, failure_count: f.failures, failure_threshold: f.threshold,
        reason: bounded(f.reason), next_probe_at: nextProbeAt(f.to), incident_detected_at: f.detectedAt, recovery_time_us: recoveryTimeUs(f),
      };
      return { topic: CIRCUITS, key, event };
    }
    case 'cascade':
      return {
        topic: WITNESSES, key: 'cascade', event: witness(causeId, k, 'cascade', f.at, {
          trigger: 'CASCADE', trigger_text: 'Cascade detected', component_states: states(f.states), causal_chain: f.chain.map(link),
          decision: `Open circuit breakers for ${f.components.length} components`, action_taken: 'SHED_LOAD',
          pattern_name: null, expected_latency_us: null, observed_latency_us: null,
        }),
      };
    case 'joined':
      return {
        topic: WITNESSES, key: 'cascade', event: witness(causeId, k, 'cascade', f.at, {
          trigger: 'CASCADE', trigger_text: bounded(`Cascade spread to ${f.componentId}`), component_states: states(f.states), causal_chain: [],
          decision: bounded(`Open the circuit breaker of ${f.componentId}`), action_taken: 'SHED_LOAD',
          pattern_name: null, expected_latency_us: null, observed_latency_us: null,
        }),
      };
    case 'componentBreaker': {
      const event: StructuralEventObserved = {
        type: 'StructuralEventObserved', meta: meta(causeId, k, f.componentId, f.at), component_id: f.componentId, kind: 'CIRCUIT_BREAKER',
        request_id: null, success: null, peer_component_id: null, resource: null, value: null, queue_depth: null,
        circuit_state: f.state, latency_us: null, error: null,
      };
      return { topic: WITNESSES, key: f.componentId, event };
    }
    case 'regressed':
      return {
        topic: WITNESSES, key: f.componentId, event: witness(causeId, k, f.componentId, f.at, {
          trigger: 'LATENCY_REGRESSION', trigger_text: bounded(`Latency regression: ${f.componentId}`), component_states: [], causal_chain: [],
          decision: 'Investigate latency spike', action_taken: null, pattern_name: null,
          expected_latency_us: f.baselineUs, observed_latency_us: f.recentUs,
        }),
      };
    case 'deviated':
      return {
        topic: WITNESSES, key: f.name, event: witness(causeId, k, f.name, f.at, {
          trigger: 'PATTERN_DEVIATION',
          trigger_text: bounded(`${f.name} latency deviation: expected ${f.expectedUs}us, got ${f.observedUs}us (${(f.deviation * 100).toFixed(0)}%)`),
          component_states: [], causal_chain: f.trace.map((c) => ({ component_id: c.from, kind: 'CALL' as const, event_id: null })),
          decision: 'Investigate coordination deviation', action_taken: null, pattern_name: f.name,
          expected_latency_us: f.expectedUs, observed_latency_us: f.observedUs,
        }),
      };
    case 'modeChanged': {
      const event: OperationalModeChanged = {
        type: 'OperationalModeChanged', meta: meta(causeId, k, 'mode', f.at), previous_mode: f.from, new_mode: f.to.mode,
        active_rate: f.activeRate, active_agents: f.active, total_agents: f.total, description: f.to.description, restrictions: [...f.to.restrictions],
      };
      return { topic: CIRCUITS, key: 'mode', event };
    }
    case 'frozen': {
      const event: MeshFrozen = {
        type: 'MeshFrozen', meta: meta(causeId, k, 'partition', f.at), reason: 'PARTITION_MINORITY', reachable_peers: f.reachable, total_peers: f.total,
        detail: `${f.reachable} of ${f.total} agents reachable < half: read-only until half are back`,
      };
      return { topic: CIRCUITS, key: 'partition', event };
    }
    case 'thawed': {
      const event: MeshThawed = {
        type: 'MeshThawed', meta: { ...meta(causeId, k, 'partition', f.at), causation_id: f.frozenEventId }, reason: 'PARTITION_MINORITY',
        frozen_at: f.frozenAt, reachable_peers: f.reachable, total_peers: f.total,
        detail: `${f.reachable} of ${f.total} agents reachable again after ${((f.at - f.frozenAt) / 1e6).toFixed(1)} s read-only`,
      };
      return { topic: CIRCUITS, key: 'partition', event };
    }
    case 'crashConfirmed': {
      const event: AgentCrashConfirmed = {
        type: 'AgentCrashConfirmed', meta: meta(causeId, k, f.agentId, f.at), agent_id: f.agentId,
        cluster_id: f.placement?.clusterId ?? null, sector_id: f.placement?.sectorId ?? null, suspected_at: f.suspectedAt,
        signals: f.signals.map((x) => ({ kind: x.kind, observer: x.observer, event_id: x.eventId, at: x.at })),
      };
      return { topic: WITNESSES, key: f.agentId, event };
    }
    default: { const never: never = f; return never; }
  }
}
