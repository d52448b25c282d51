import assert from 'node:assert/strict';
import { gatherVerdict, retryAdvice, SEED_THRESHOLDS, trinaryQuorum } from '../../../services/coordinator/quorum';

// Seed 002 §5.2 trinary_quorum_check with its defaults (0.95 ready, 0.05 conflict, 0.10 transit),
// and §3.2 phase 6 (SUCCESS when ready / sent >= minimum_response_rate). Every expected value is
// worked out by hand from the seed's formulas in the case's comment.
describe('trinary quorum (seed 002 §5.2)', () => {
  it('given the seed thresholds, then they are 0.95 / 0.05 / 0.10', () => {
    assert.deepEqual(SEED_THRESHOLDS, { requiredReadyRate: 0.95, maxConflictRate: 0.05, maxTransitRate: 0.10 });
  });

  const cases: Array<[string, { ready: number; conflict: number; transit: number }, string, number | null]> = [
    // 96/100 >= 0.95, 2/100 <= 0.05: PROCEED, confidence 0.96 - 0.5 * 0.02 = 0.95
    ['96 ready, 2 conflict, 2 transit of 100', { ready: 96, conflict: 2, transit: 2 }, 'PROCEED', 0.95],
    // on both thresholds (>= and <=): 0.95 - 0.5 * 0.05 = 0.925
    ['95 ready, 5 conflict of 100', { ready: 95, conflict: 5, transit: 0 }, 'PROCEED', 0.925],
    // everyone ready: 1 - 0 = 1
    ['300 ready of 300', { ready: 300, conflict: 0, transit: 0 }, 'PROCEED', 1],
    // 80/100 < 0.95 and 15/100 > 0.10: WAIT
    ['80 ready, 5 conflict, 15 transit', { ready: 80, conflict: 5, transit: 15 }, 'WAIT', null],
    // WAIT is checked before conflicts: 8/100 > 0.05 too, but 12/100 > 0.10 with too few ready
    ['80 ready, 8 conflict, 12 transit', { ready: 80, conflict: 8, transit: 12 }, 'WAIT', null],
    // 90/100 < 0.95, transit 2/100 <= 0.10, conflict 8/100 > 0.05: RESOLVE_CONFLICTS
    ['90 ready, 8 conflict, 2 transit', { ready: 90, conflict: 8, transit: 2 }, 'RESOLVE_CONFLICTS', null],
    // 90/100 < 0.95, transit 10/100 is not > 0.10 (boundary), conflict 0: RETRY
    ['90 ready, 0 conflict, 10 transit', { ready: 90, conflict: 0, transit: 10 }, 'RETRY', null],
    // 90/100 < 0.95, transit 7/100 <= 0.10, conflict 3/100 <= 0.05: RETRY
    ['90 ready, 3 conflict, 7 transit', { ready: 90, conflict: 3, transit: 7 }, 'RETRY', null],
    // 19/20 = 0.95 ready, 1/20 = 0.05 conflict: PROCEED at 0.95 - 0.025 = 0.925
    ['19 ready, 1 conflict of 20', { ready: 19, conflict: 1, transit: 0 }, 'PROCEED', 0.925],
    // nobody to ask: RETRY
    ['no agent at all', { ready: 0, conflict: 0, transit: 0 }, 'RETRY', null],
  ];
  for (const [what, counts, decision, confidence] of cases) {
    it(`given ${what}, then ${decision}${confidence === null ? '' : ` with confidence ${confidence}`}`, () => {
      const q = trinaryQuorum(counts);
      assert.equal(q.decision, decision);
      assert.equal(q.achieved, decision === 'PROCEED');
      if (confidence === null) assert.equal(q.confidence, null);
      else assert.ok(Math.abs(q.confidence! - confidence) < 1e-12, `confidence ${q.confidence}`);
      assert.equal(q.reason === null, decision === 'PROCEED');
    });
  }

  it('says why in the seed\'s words', () => {
    assert.equal(trinaryQuorum({ ready: 90, conflict: 8, transit: 2 }).reason, 'Conflict rate 8.0% exceeds threshold');
    assert.equal(trinaryQuorum({ ready: 80, conflict: 5, transit: 15 }).recommendation, 'Extend arrival window');
    assert.equal(trinaryQuorum({ ready: 90, conflict: 3, transit: 7 }).recommendation, 'Retry with adjusted impedance compensation');
  });
});

describe('gather verdict (seed 002 §3.2 phase 6)', () => {
  it('given 96 READY and 2 CONFLICT of 100 sent, min 0.95, then SUCCESS at 0.96 with 2 stragglers', () => {
    assert.deepEqual(gatherVerdict(100, { ready: 96, conflict: 2, transit: 2 }, 0.95), { status: 'SUCCESS', responseRate: 0.96, stragglers: 2 });
  });
  it('given 94 READY of 100 sent, min 0.95, then PARTIAL at 0.94 with 100 - 94 - 1 = 5 stragglers', () => {
    assert.deepEqual(gatherVerdict(100, { ready: 94, conflict: 1, transit: 5 }, 0.95), { status: 'PARTIAL', responseRate: 0.94, stragglers: 5 });
  });
  it('given exactly the minimum (19 of 20 at 0.95), then SUCCESS', () => {
    assert.equal(gatherVerdict(20, { ready: 19, conflict: 0, transit: 1 }, 0.95).status, 'SUCCESS');
  });
  it('given nothing sent, then PARTIAL at 0', () => {
    assert.deepEqual(gatherVerdict(0, { ready: 0, conflict: 0, transit: 0 }, 0.95), { status: 'PARTIAL', responseRate: 0, stragglers: 0 });
  });
  it('advises: none for PROCEED + SUCCESS; a larger window for PROCEED + PARTIAL; by decision otherwise', () => {
    const v = (status: 'SUCCESS' | 'PARTIAL') => ({ status, responseRate: 0, stragglers: 0 });
    assert.equal(retryAdvice(trinaryQuorum({ ready: 96, conflict: 0, transit: 4 }), v('SUCCESS')), null);
    // a request asking 0.99 of 96 %: quorum PROCEEDs, the gather is PARTIAL
    assert.equal(retryAdvice(trinaryQuorum({ ready: 96, conflict: 0, transit: 4 }), gatherVerdict(100, { ready: 96, conflict: 0, transit: 4 }, 0.99)), 'RETRY_WITH_LARGER_WINDOW');
    assert.equal(retryAdvice(trinaryQuorum({ ready: 80, conflict: 5, transit: 15 }), v('PARTIAL')), 'EXTEND_WINDOW');
    assert.equal(retryAdvice(trinaryQuorum({ ready: 90, conflict: 8, transit: 2 }), v('PARTIAL')), 'RESOLVE_CONFLICTS_FIRST');
    assert.equal(retryAdvice(trinaryQuorum({ ready: 90, conflict: 3, transit: 7 }), v('PARTIAL')), 'ADJUST_COMPENSATION');
  });
});
