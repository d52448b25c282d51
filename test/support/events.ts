// Builders of valid events for specs, deterministic from a number so failures reproduce.
import { derivedEventId } from '../../services/runtime/ids';
import type { ConflictReported, ConflictType } from '../../schemas/generated/events';

const AHEAD_US = (Math.floor(Date.now() / 1000) + 240) * 1_000_000;

export function conflictReported(n: number, over: { conflict_type?: ConflictType; divergence_depth?: number | null; affects_agent_count?: number | null } = {}): ConflictReported {
  return {
    type: 'ConflictReported',
    meta: {
      event_id: derivedEventId('test-conflict', String(n)),
      correlation_id: `corr-${n}`,
      causation_id: null,
      // Four minutes ahead of the wall clock when the specs load (within the default
      // MAX_EVENT_TIME_SKEW_MS of 5 min): no resolve_by (1 to 60 min after the report for
      // priorities 3 to 1) comes due while a spec runs soon after; the lifecycle specs drive
      // deadlines with times of their own.
      occurred_at: AHEAD_US + n * 1000,
      producer: 'test',
      sequence: null,
    },
    conflict_id: `conflict-${n}`,
    agent_id: `agent-${n % 7}`,
    message_id: `msg-${n}`,
    sector_id: 'sector-1',
    cluster_id: 'cluster-3',
    detail: {
      conflict_type: over.conflict_type ?? 'DATA_CONTRADICTION',
      expected_value: '42',
      received_value: '43',
      context_hash: 'abc123',
      divergence_depth: over.divergence_depth ?? null,
      affects_agent_count: over.affects_agent_count ?? null,
      conflicting_data: null,
    },
    forgery: null,
    applied_through: null,
  };
}
