// Conflict intake (seed 002 §5.1): a -1 is information, not failure. Each reported conflict is
// quarantined with a priority 0-4 and a suggested resolution strategy; priority >= 3 escalates to
// the sector coordinator, priority 4 also to the orchestrator. Pure: time and ids come from the
// input event.
import type {
  ConflictDetail, ConflictEscalated, ForgeryEvidence, ConflictQuarantined, ConflictReported, EscalationLevel, ResolutionStrategy,
} from '../../schemas/generated/events';
import { unreachable } from '../runtime/errors';
import { derivedEventId } from '../runtime/ids';

export const PRODUCER = 'coordinator';

/** 0 background, 1 within an hour, 2 within 10 min, 3 within 1 min, 4 immediate. */
export function classifyPriority(d: ConflictDetail): number {
  switch (d.conflict_type) {
    case 'CONTEXT_DIVERGENCE': return (d.divergence_depth ?? 0) > 10 ? 3 : 2;
    case 'DATA_CONTRADICTION': return (d.affects_agent_count ?? 0) > 100 ? 3 : 2;
    case 'TEMPORAL_PARADOX': return 4;
    case 'CAPABILITY_MISMATCH': return 1;
    case 'HASH_MISMATCH': return 4;
    case 'OTHER': return 2;
    default: return unreachable(d.conflict_type);
  }
}

const MICROS_PER_S = 1_000_000;
/** Resolution deadline per priority, in microseconds after the report; null = when convenient. */
const RESOLVE_WITHIN_US: Record<number, number | null> = {
  0: null, 1: 3600 * MICROS_PER_S, 2: 600 * MICROS_PER_S, 3: 60 * MICROS_PER_S, 4: 0,
};

export function suggestResolution(d: ConflictDetail): ResolutionStrategy {
  switch (d.conflict_type) {
    case 'CONTEXT_DIVERGENCE':
      return { method: 'BRANCH_AND_RECONCILE', steps: ['Create parallel context branches', 'Let both branches operate independently', 'Identify convergence points', 'Human review of irreconcilable differences'] };
    case 'DATA_CONTRADICTION':
      return { method: 'PROVENANCE_TRACE', steps: ['Trace both values to origin', 'Identify where divergence occurred', 'Prefer value with stronger provenance', 'Update weaker source'] };
    case 'TEMPORAL_PARADOX':
      return { method: 'CLOCK_RECONCILIATION', steps: ['Check Lamport timestamps', 'Verify causal ordering', 'Identify clock drift source', 'Rebuild causal chain'] };
    case 'CAPABILITY_MISMATCH':
      return { method: 'REROUTE', steps: ['Look up agents with the required capability', 'Re-send to the lowest-impedance capable agent', 'Correct the routing entry'] };
    case 'HASH_MISMATCH':
      return { method: 'RELOAD_KNOWN_GOOD', steps: ['Isolate the agent', 'Verify the integrity of its context', 'Reload the last known-good context', 'Audit for tampering'] };
    case 'OTHER':
      return { method: 'MANUAL_REVIEW', steps: ['Review the conflict record', 'Decide a strategy'] };
    default: return unreachable(d.conflict_type);
  }
}

/**
 * A message refused before it was applied (forged, unsigned, replayed, throttled: services/identity)
 * is evidence about the message, not about the agent it names: anyone can claim a sender. So its
 * strategy investigates and never isolates the claimed sender (RELOAD_KNOWN_GOOD's first step);
 * what quarantines an agent for forgeries is its own key misused (the impedance fold counts those).
 */
export function forgeryStrategy(f: ForgeryEvidence): ResolutionStrategy {
  return {
    method: 'MANUAL_REVIEW',
    steps: [
      `The ${f.event_type} was refused (${f.reason}) before it was applied: nothing of it reached the mesh's state`,
      `Find who wrote ${f.source_topic}[${f.source_partition}] at offset ${f.source_offset} (its dead letter keeps the bytes)`,
      f.own_key ? 'Its signature verifies under the sender\'s own key: only the sender (or whoever holds its key) wrote it; it counts toward the agent\'s quarantine. Rotate or revoke the key if it leaked' : 'The claimed sender is not isolated: the message may be anyone\'s',
    ],
  };
}

export type ConflictDecision = ConflictQuarantined | ConflictEscalated;

/** Who a conflict of this priority is escalated to when it is reported. */
export function escalationLevels(priority: number): EscalationLevel[] {
  return priority >= 4 ? ['SECTOR_COORDINATOR', 'ORCHESTRATOR'] : priority >= 3 ? ['SECTOR_COORDINATOR'] : [];
}

export function decideConflict(report: ConflictReported): ConflictDecision[] {
  const priority = classifyPriority(report.detail);
  const within = RESOLVE_WITHIN_US[priority];
  const meta = (kind: string) => ({
    event_id: derivedEventId(report.meta.event_id, kind),
    correlation_id: report.meta.correlation_id,
    causation_id: report.meta.event_id,
    occurred_at: report.meta.occurred_at,
    producer: PRODUCER,
    sequence: null,
  });
  const out: ConflictDecision[] = [{
    type: 'ConflictQuarantined',
    meta: meta('quarantined'),
    conflict_id: report.conflict_id,
    agent_id: report.agent_id,
    message_id: report.message_id,
    detail: report.detail,
    priority,
    suggested_strategy: report.forgery ? forgeryStrategy(report.forgery) : suggestResolution(report.detail),
    resolve_by: within === null || within === undefined ? null : report.meta.occurred_at + within,
  }];
  for (const level of escalationLevels(priority)) {
    out.push({
      type: 'ConflictEscalated',
      meta: meta(`escalated:${level}`),
      conflict_id: report.conflict_id,
      agent_id: report.agent_id,
      message_id: report.message_id,
      conflict_type: report.detail.conflict_type,
      priority,
      level,
      sector_id: report.sector_id,
      reason: `priority ${priority} ${report.detail.conflict_type} conflict from agent ${report.agent_id}`,
    });
  }
  return out;
}
