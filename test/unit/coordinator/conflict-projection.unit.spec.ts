import assert from 'node:assert/strict';
import type { ConflictFact } from '../../../services/coordinator/conflict-lifecycle';
import { step, UNKNOWN } from '../../../services/coordinator/conflict-lifecycle';
import { ConflictProjection, conflictTable, parseSince } from '../../../services/coordinator/conflict-projection';
import type { ConflictReported, SolvermeshEvent } from '../../../schemas/generated/events';
import { conflictReported } from '../../support/events';

const T = conflictReported(0).meta.occurred_at;

/** A conflict's log as the coordinator writes it: the report, then the facts it decided. */
function logOf(r: ConflictReported): SolvermeshEvent[] {
  const facts: ConflictFact[] = step(UNKNOWN, r).facts;
  return [r, ...facts];
}

describe('conflict projection (solvermesh conflicts): one summary per conflict, filtered as it is folded', () => {
  const reports = [
    conflictReported(1, { conflict_type: 'DATA_CONTRADICTION' }), // agent-1, p2
    conflictReported(2, { conflict_type: 'CAPABILITY_MISMATCH' }), // agent-2, resolved by REROUTE
    conflictReported(8, { conflict_type: 'TEMPORAL_PARADOX' }), // agent-1, p4, escalated twice
  ];
  const log = reports.flatMap(logOf);

  it('given the log of three conflicts, then each is summarised with priority, strategy, deadline, escalations and resolution', () => {
    const p = new ConflictProjection();
    for (const e of log) p.fold(e);
    const rows = p.list();
    assert.deepEqual(rows.map((r) => [r.conflict_id, r.status, r.priority, r.strategy]), [
      ['conflict-1', 'OPEN', 2, 'PROVENANCE_TRACE'], ['conflict-2', 'RESOLVED', 1, 'REROUTE'], ['conflict-8', 'OPEN', 4, 'CLOCK_RECONCILIATION'],
    ]);
    assert.deepEqual(rows[2]!.escalated_to, ['SECTOR_COORDINATOR', 'ORCHESTRATOR']);
    assert.equal(rows[2]!.overdue, false);
    assert.deepEqual([rows[1]!.resolved_by, rows[1]!.outcome], ['coordinator', 'DISCARDED']);
    assert.equal(rows[0]!.resolve_by, T + 1000 + 600e6);
  });

  it('given filters, then only matching conflicts are kept: by agent, type, time, openness, id', () => {
    const ids = (f: ConstructorParameters<typeof ConflictProjection>[0]) => {
      const p = new ConflictProjection(f);
      for (const e of log) p.fold(e);
      return p.list().map((r) => r.conflict_id);
    };
    assert.deepEqual(ids({ agent: 'agent-1' }), ['conflict-1', 'conflict-8']);
    assert.deepEqual(ids({ type: 'CAPABILITY_MISMATCH' }), ['conflict-2']);
    assert.deepEqual(ids({ sinceUs: T + 2000 }), ['conflict-2', 'conflict-8']);
    assert.deepEqual(ids({ open: true }), ['conflict-1', 'conflict-8']);
    assert.deepEqual(ids({ conflictId: 'conflict-8', open: true }), ['conflict-8']);
  });

  it('given the table, then an overdue open conflict reads OVERDUE', () => {
    const p = new ConflictProjection();
    for (const e of logOf(reports[0]!)) p.fold(e);
    p.list()[0]!.overdue = true;
    const [head, row] = conflictTable(p.list());
    assert.match(head!, /^CONFLICT +REPORTED +AGENT +TYPE +P +STRATEGY +STATUS/);
    assert.match(row!, /conflict-1 .* DATA_CONTRADICTION +2 +PROVENANCE_TRACE +OVERDUE/);
  });

  it('--since: a duration ago, an ISO time or µs; anything else is refused with the forms it takes', () => {
    const now = 1_767_225_600_000_000;
    assert.equal(parseSince('30m', now), now - 1800e6);
    assert.equal(parseSince('2h', now), now - 7200e6);
    assert.equal(parseSince('2026-01-01T00:00:00Z', now), now);
    assert.equal(parseSince(String(now - 5), now), now - 5);
    assert.throws(() => parseSince('yesterday', now), /--since "yesterday": use 30m, 2h, 1d/);
  });
});
