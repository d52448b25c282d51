import assert from 'node:assert/strict';
import { foldKpis } from '../../../services/coordinator/kpis';
import { decidedGather, GATHER_T as T, KPI_GATHERS } from '../../support/gathers';

// Given decisions the gather decider makes (so their counts are the real ones), when the KPIs
// of seed 002 §11.1 are folded over them, then the rates computed by hand below.
const MS = 1000;

describe('coordination KPIs (seed 002 §11.1)', () => {
  const { allReady, oneLate, silent } = KPI_GATHERS;

  it('given no decision, then every rate is n/a (null), not 0 or 100 %', () => {
    assert.deepEqual(foldKpis([]), { decisions: 0, coordinationSuccessRate: null, proceedRate: null, arrivalWindowHitRate: null, conflictRate: null, fromUs: null, toUs: null });
  });

  it('given one gather where everyone answered READY in time, then success 1, hit rate 1, conflict rate 0', () => {
    const k = foldKpis([allReady()]);
    assert.deepEqual([k.decisions, k.coordinationSuccessRate, k.proceedRate, k.arrivalWindowHitRate, k.conflictRate], [1, 1, 1, 1, 0]);
  });

  it('given the three gathers, then success 1/3, hit rate pooled over agents 108/124, conflict rate 6/108 of the answers, the event-time span of the decisions', () => {
    const ds = [allReady(), oneLate(), silent()];
    assert.deepEqual(ds.map((d) => [d.decision, d.gather_status, d.sent_count, d.silent_count, d.conflict_count]), [
      ['PROCEED', 'SUCCESS', 4, 0, 0], ['RETRY', 'PARTIAL', 20, 1, 1], ['WAIT', 'PARTIAL', 100, 15, 5],
    ]);
    const k = foldKpis(ds);
    assert.equal(k.decisions, 3);
    assert.equal(k.coordinationSuccessRate, 1 / 3);
    assert.equal(k.proceedRate, 1 / 3);
    assert.equal(k.arrivalWindowHitRate, (4 + 19 + 85) / (4 + 20 + 100));
    assert.equal(k.conflictRate, (0 + 1 + 5) / (4 + 19 + 85));
    assert.deepEqual([k.fromUs, k.toUs], [T + 30 * MS, T + 1500 * MS]);
  });

  it('given a gather where nothing was sent, then it counts as a decision but adds no agents to the hit or conflict rates', () => {
    const none = decidedGather('c0', [], []);
    const k = foldKpis([allReady(), none]);
    assert.equal(k.decisions, 2);
    assert.deepEqual([k.arrivalWindowHitRate, k.conflictRate], [1, 0]);
  });
});
