import assert from 'node:assert/strict';
import { finalOutcome, gatherVerdict, SEED_THRESHOLDS, trinaryQuorum, type TrinaryCounts } from '../../../services/coordinator/quorum';

// When a gather may decide before its last ack (seed 002 §5.2 with 0.95 ready / 0.05 conflict /
// 0.10 transit, §3.2 phase 6 SUCCESS at ready / sent >= minimum_response_rate): the decision and
// the status are final when no answers of the unsettled agents (READY, TRANSIT, CONFLICT, or none
// = TRANSIT) change them. Each expected value is worked out by hand in the case's comment.
const settled = (ready: number, conflict: number, transit: number): TrinaryCounts => ({ ready, conflict, transit });

describe('the early decision of a gather (seed 002 §5.2, §3.2 phase 6)', () => {
  const cases: Array<[string, number, TrinaryCounts, number, number, { decision: string; status: string } | null]> = [
    // ready >= 95 whatever comes; a CONFLICT from each of the 5: 5/100 = 0.05 <= 0.05, still PROCEED; 95/100 >= 0.95: SUCCESS
    ['100 sent, 95 READY, 0 CONFLICT, 5 unsettled', 100, settled(95, 0, 0), 5, 0.95, { decision: 'PROCEED', status: 'SUCCESS' }],
    // 5 more READY: 99 ready, PROCEED; 5 CONFLICT: 6/100 > 0.05, RESOLVE_CONFLICTS
    ['100 sent, 94 READY, 1 CONFLICT, 5 unsettled', 100, settled(94, 1, 0), 5, 0.95, null],
    // 6/100 > 0.05 whatever comes; ready at most 94 < 95; transit at most 4/100 <= 0.10: RESOLVE_CONFLICTS; 94/100 < 0.95: PARTIAL
    ['100 sent, 90 READY, 6 CONFLICT, 4 unsettled', 100, settled(90, 6, 0), 4, 0.95, { decision: 'RESOLVE_CONFLICTS', status: 'PARTIAL' }],
    // ready at most 94; transit up to 9/100 <= 0.10: never WAIT, RESOLVE_CONFLICTS
    ['100 sent, 85 READY, 6 CONFLICT, 9 unsettled', 100, settled(85, 6, 0), 9, 0.95, { decision: 'RESOLVE_CONFLICTS', status: 'PARTIAL' }],
    // 11 silent: 11/100 > 0.10 with ready 83 < 95: WAIT; 11 READY: RESOLVE_CONFLICTS
    ['100 sent, 83 READY, 6 CONFLICT, 11 unsettled', 100, settled(83, 6, 0), 11, 0.95, null],
    // 11 late (TRANSIT) already: 11/100 > 0.10, ready at most 89 < 95: WAIT; PARTIAL
    ['100 sent, 80 READY, 11 TRANSIT, 9 unsettled', 100, settled(80, 0, 11), 9, 0.95, { decision: 'WAIT', status: 'PARTIAL' }],
    // ready at most 92 < 95; conflict at most 2/100; transit 8..10 of 100 <= 0.10: RETRY; PARTIAL
    ['100 sent, 90 READY, 8 TRANSIT, 2 unsettled', 100, settled(90, 0, 8), 2, 0.95, { decision: 'RETRY', status: 'PARTIAL' }],
    // as the first, but the status: 95/100 < 0.97 (PARTIAL) and 100/100 (SUCCESS) both reachable
    ['100 sent, 95 READY, 5 unsettled, minimum 0.97', 100, settled(95, 0, 0), 5, 0.97, null],
    // 19/20 = 0.95 whatever comes; a CONFLICT: 1/20 = 0.05 <= 0.05: PROCEED, SUCCESS
    ['20 sent, 19 READY, 1 unsettled', 20, settled(19, 0, 0), 1, 0.95, { decision: 'PROCEED', status: 'SUCCESS' }],
    // 18 READY, 1 CONFLICT, 1 unsettled: READY gives 19/20 PROCEED, none gives 18/20 RETRY
    ['20 sent, 18 READY, 1 CONFLICT, 1 unsettled', 20, settled(18, 1, 0), 1, 0.95, null],
    // nothing unsettled: the quorum of the counts
    ['100 sent, 90 READY, 8 CONFLICT, 2 TRANSIT, 0 unsettled', 100, settled(90, 8, 2), 0, 0.95, { decision: 'RESOLVE_CONFLICTS', status: 'PARTIAL' }],
    // nothing sent: RETRY, PARTIAL (as the gather verdict says)
    ['nothing sent', 0, settled(0, 0, 0), 0, 0.95, { decision: 'RETRY', status: 'PARTIAL' }],
    // a 3,000-agent sector at 2,850 READY (0.95), none CONFLICT, 150 unsettled: 150/3000 = 0.05 <= 0.05
    ['3000 sent, 2850 READY, 150 unsettled', 3000, settled(2850, 0, 0), 150, 0.95, { decision: 'PROCEED', status: 'SUCCESS' }],
    // one READY fewer, one CONFLICT: all 150 READY gives 2999 READY, PROCEED; all CONFLICT 151/3000 > 0.05, RESOLVE_CONFLICTS
    ['3000 sent, 2849 READY, 1 CONFLICT, 150 unsettled', 3000, settled(2849, 1, 0), 150, 0.95, null],
  ];
  for (const [name, sent, counts, unsettled, min, expected] of cases) {
    it(`given ${name}, then ${expected === null ? 'not final' : `${expected.decision} ${expected.status} is final`}`, () => {
      assert.deepEqual(finalOutcome(sent, counts, unsettled, min, SEED_THRESHOLDS), expected);
    });
  }

  it('agrees with trying every answer of the unsettled agents, for every split of up to 24 agents', () => {
    let checked = 0, final = 0;
    for (let sent = 1; sent <= 24; sent++) {
      for (const min of [0.5, 0.95, 1]) {
        for (let r = 0; r <= sent; r++) for (let c = 0; r + c <= sent; c++) for (let tr = 0; r + c + tr <= sent; tr++) {
          const u = sent - r - c - tr;
          const outcomes = new Set<string>();
          for (let a = 0; a <= u; a++) for (let b = 0; a + b <= u; b++) {
            const counts = settled(r + a, c + b, tr + u - a - b);
            outcomes.add(`${trinaryQuorum(counts).decision} ${gatherVerdict(sent, counts, min).status}`);
          }
          const got = finalOutcome(sent, settled(r, c, tr), u, min);
          const want = outcomes.size === 1 ? [...outcomes][0] : null;
          assert.equal(got === null ? null : `${got.decision} ${got.status}`, want, `sent ${sent}, ${r} READY, ${c} CONFLICT, ${tr} TRANSIT, ${u} unsettled, minimum ${min}`);
          checked++;
          if (want !== null) final++;
        }
      }
    }
    assert.ok(final > 0 && final < checked, `${final} of ${checked} final`);
  });
});
