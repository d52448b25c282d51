import assert from 'node:assert/strict';
import { decideConflict } from '../../../services/coordinator/conflicts';
import type { ConflictType } from '../../../schemas/generated/events';
import { conflictReported } from '../../support/events';

// Seed 002 §5.1: priority by conflict type, strategy by type, escalation at >= 3 and 4.
describe('conflict intake (seed 002 §5.1)', () => {
  const cases: Array<[string, ConflictType, { divergence_depth?: number; affects_agent_count?: number }, number, string, string[]]> = [
    ['a shallow context divergence', 'CONTEXT_DIVERGENCE', { divergence_depth: 10 }, 2, 'BRANCH_AND_RECONCILE', []],
    ['a deep context divergence', 'CONTEXT_DIVERGENCE', { divergence_depth: 11 }, 3, 'BRANCH_AND_RECONCILE', ['SECTOR_COORDINATOR']],
    ['a local data contradiction', 'DATA_CONTRADICTION', { affects_agent_count: 100 }, 2, 'PROVENANCE_TRACE', []],
    ['a wide data contradiction', 'DATA_CONTRADICTION', { affects_agent_count: 101 }, 3, 'PROVENANCE_TRACE', ['SECTOR_COORDINATOR']],
    ['a temporal paradox', 'TEMPORAL_PARADOX', {}, 4, 'CLOCK_RECONCILIATION', ['SECTOR_COORDINATOR', 'ORCHESTRATOR']],
    ['a capability mismatch', 'CAPABILITY_MISMATCH', {}, 1, 'REROUTE', []],
    ['a hash mismatch', 'HASH_MISMATCH', {}, 4, 'RELOAD_KNOWN_GOOD', ['SECTOR_COORDINATOR', 'ORCHESTRATOR']],
    ['an unclassified conflict', 'OTHER', {}, 2, 'MANUAL_REVIEW', []],
  ];

  for (const [what, conflictType, detail, priority, method, escalations] of cases) {
    it(`given ${what}, quarantines it at priority ${priority} with ${method}${escalations.length ? ` and escalates to ${escalations.join(' and ')}` : ''}`, () => {
      const report = conflictReported(7, { conflict_type: conflictType, ...detail });
      const [q, ...rest] = decideConflict(report);
      assert.equal(q?.type, 'ConflictQuarantined');
      assert.equal(q.priority, priority);
      assert.equal(q.suggested_strategy.method, method);
      assert.ok(q.suggested_strategy.steps.length > 0);
      assert.deepEqual(q.detail, report.detail);
      assert.deepEqual(rest.map((e) => (e.type === 'ConflictEscalated' ? e.level : e.type)), escalations);
      for (const e of rest) assert.equal(e.priority, priority);
    });
  }

  it('sets the resolution deadline from the event time: 1 h, 10 min, 1 min, immediate', () => {
    const t = conflictReported(1).meta.occurred_at;
    const deadline = (type: ConflictType, extra = {}) => {
      const [q] = decideConflict(conflictReported(1, { conflict_type: type, ...extra }));
      assert.equal(q?.type, 'ConflictQuarantined');
      return q.resolve_by;
    };
    assert.equal(deadline('CAPABILITY_MISMATCH'), t + 3600e6);
    assert.equal(deadline('DATA_CONTRADICTION'), t + 600e6);
    assert.equal(deadline('CONTEXT_DIVERGENCE', { divergence_depth: 50 }), t + 60e6);
    assert.equal(deadline('HASH_MISMATCH'), t);
  });

  it('derives ids, causation and event time from the report, so replay gives identical events', () => {
    const report = conflictReported(3, { conflict_type: 'TEMPORAL_PARADOX' });
    const once = decideConflict(report);
    assert.deepEqual(decideConflict(report), once);
    for (const e of once) {
      assert.equal(e.meta.causation_id, report.meta.event_id);
      assert.equal(e.meta.correlation_id, report.meta.correlation_id);
      assert.equal(e.meta.occurred_at, report.meta.occurred_at);
    }
    assert.equal(new Set(once.map((e) => e.meta.event_id)).size, once.length);
  });
});
