// What the mesh writes about a refused or abusive message (seed 002 §5.1, §9.2). Ids derive from
// the refused record's position, so every service that refuses the same record (impedance and the
// coordinator both read mesh.acks) names the same conflict, and the conflict log keeps one. Pure.
import type { AckReceived, ConflictReported, InputPosition, StructuralWitnessRecorded } from '../../schemas/generated/events';
import { DEFAULT_LIMITS } from '../../schemas/validate';
import { derivedEventId } from '../runtime/ids';
import type { TimingAnomaly } from './abuse';
import { senderOf, type SignedEvent } from './canonical';

export interface RecordPosition { readonly topic: string; readonly partition: number; readonly offset: string }

export interface Refused {
  /** A verdict's refusal, THROTTLED or PAYLOAD_HASH_MISMATCH. */
  readonly reason: string;
  readonly detail: string;
  readonly keyId: string | null;
  readonly ownKey: boolean;
}

const atMost = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

const positionId = (p: RecordPosition) => `${p.topic}/${p.partition}/${p.offset}`;

/**
 * A HASH_MISMATCH conflict naming the claimed sender, with the evidence: the conflict intake does
 * not quarantine the sender for it (services/coordinator/conflicts.ts), as the message may be
 * anyone's forgery.
 */
export function refusalReport(e: SignedEvent, r: Refused, at: RecordPosition, producer: string, idBase: string = positionId(at)): ConflictReported {
  const sender = senderOf(e);
  const id = idBase;
  return {
    type: 'ConflictReported',
    meta: { event_id: derivedEventId(id, 'refused:report'), correlation_id: e.meta.correlation_id, causation_id: e.meta.event_id, occurred_at: e.meta.occurred_at, producer, sequence: null },
    conflict_id: derivedEventId(id, 'refused:conflict'),
    agent_id: sender,
    message_id: e.meta.event_id,
    sector_id: e.type === 'HeartbeatReceived' ? e.sector_id : null,
    cluster_id: e.type === 'HeartbeatReceived' ? e.cluster_id : null,
    detail: {
      conflict_type: 'HASH_MISMATCH',
      expected_value: atMost(r.reason === 'THROTTLED' ? `at most the agent's heartbeat limit`
        : r.reason === PAYLOAD_HASH_MISMATCH ? `an ack naming the payload_hash of the message dispatched to ${sender}`
          : `a ${e.type} signed by a key ${sender} holds at its event time, with a new sender sequence`, DEFAULT_LIMITS.maxStringLength),
      // The detail quotes the refused message, which may itself be at the schemas' limit: cut to it,
      // or the report would be refused (VALIDATION_FAILED) by the conflict intake and no conflict opened.
      received_value: atMost(`${r.reason}: ${r.detail}`, DEFAULT_LIMITS.maxStringLength),
      context_hash: e.type === 'HeartbeatReceived' ? e.context_hash : '',
      divergence_depth: null, affects_agent_count: null, conflicting_data: null,
    },
    forgery: {
      reason: r.reason, claimed_key_id: r.keyId, own_key: r.ownKey, event_type: e.type,
      source_topic: at.topic, source_partition: at.partition, source_offset: Number(at.offset),
    },
    applied_through: null,
  };
}

export const PAYLOAD_HASH_MISMATCH = 'PAYLOAD_HASH_MISMATCH';

/**
 * An ack naming another payload_hash than the message dispatched to its agent (seed 002 §2.1
 * integrity check). `ownKey`: its signature was verified, so only the agent could have written it.
 * `offset` null: the ack came before the dispatch summary and its offset is not kept; the ids
 * then derive from the ack's event id (the report's message_id names it). `decidedAt`: the input
 * record that showed the mismatch (the ack, or the dispatch summary that came after it), for a replay.
 */
export function payloadMismatchReport(ack: AckReceived, expected: string, ownKey: boolean, at: { topic: string; partition: number; offset: string | null }, producer: string, decidedAt: InputPosition | null = null): ConflictReported {
  const r: Refused = {
    reason: PAYLOAD_HASH_MISMATCH, detail: `ack ${ack.meta.event_id} of ${ack.agent_id} names payload_hash ${ack.payload_hash ?? 'null'}, the message dispatched had ${expected}`,
    keyId: ack.signature?.key_id ?? null, ownKey,
  };
  const pos: RecordPosition = { topic: at.topic, partition: at.partition, offset: at.offset ?? '-1' };
  return { ...refusalReport(ack, r, pos, producer, at.offset === null ? `ack:${ack.meta.event_id}` : positionId(pos)), applied_through: decidedAt };
}

function witness(agentId: string, atUs: number, causation: string, kind: string, text: string, decision: string, action: string | null, pattern: string): StructuralWitnessRecorded {
  return {
    type: 'StructuralWitnessRecorded',
    meta: { event_id: derivedEventId(causation, `witness:${kind}`), correlation_id: agentId, causation_id: causation, occurred_at: atUs, producer: 'identity', sequence: null },
    witness_id: derivedEventId(causation, `witness-id:${kind}`),
    trigger: 'PATTERN_DEVIATION', trigger_text: text, component_states: [], causal_chain: [], decision, action_taken: action,
    pattern_name: pattern, expected_latency_us: null, observed_latency_us: null,
  };
}

/** The first throttled heartbeat of an agent's window (seed 002 §9.2 denial_of_service: rate limiting). */
export function throttleWitness(e: SignedEvent, limit: number, baselinePerS: number, windowUs: number): StructuralWitnessRecorded {
  const sender = senderOf(e);
  return witness(sender, e.meta.occurred_at, e.meta.event_id, 'throttle', `Message rate exceeds ${Math.round((limit / (baselinePerS * windowUs / 1e6)))}x baseline`,
    `Throttle ${sender}: heartbeats beyond ${limit} in its ${windowUs / 1e6} s window (baseline ${baselinePerS.toFixed(3)}/s) are not applied`, 'RATE_LIMIT', 'heartbeat_rate');
}

/** A timing anomaly (seed 002 §9.2 timing_attack). */
export function timingWitness(e: SignedEvent, t: TimingAnomaly): StructuralWitnessRecorded {
  const sender = senderOf(e);
  const what = t.kind === 'BACKDATED' ? `dated ${t.byUs} µs before its previous heartbeat` : `received ${t.byUs} µs before it was sent`;
  return witness(sender, e.meta.occurred_at, e.meta.event_id, 'timing', 'Timing anomaly', `Heartbeat of ${sender} ${what}: its impedance inputs are suspect`, null, 'heartbeat_timing');
}
