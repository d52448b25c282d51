import assert from 'node:assert/strict';
import type { CascadeCompleted, MeshSummarized } from '../../../schemas/generated/events';
import { cascadeKpis, foldKpis, meshAvailability, nearestRank } from '../../../services/coordinator/kpis';
import { agentIds, decidedGather, GATHER_T as T, KPI_GATHERS, type Answer } from '../../support/gathers';

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

  it('given a gather decided early (100 sent, 95 READY in the window, 5 unsettled), then its hit rate is judged over the 95 settled, not the 100', () => {
    const early = decidedGather('c4', agentIds(100), agentIds(95).map((a): Answer => [a, 'READY', 0]));
    assert.deepEqual([early.decision, early.closed_by, early.unsettled_count, early.silent_count], ['PROCEED', null, 5, 5]);
    const k = foldKpis([allReady(), early]);
    assert.deepEqual([k.arrivalWindowHitRate, k.conflictRate], [(4 + 95) / (4 + 95), 0]);
  });

  it('given a gather where nothing was sent, then it counts as a decision but adds no agents to the hit or conflict rates', () => {
    const none = decidedGather('c0', [], []);
    const k = foldKpis([allReady(), none]);
    assert.equal(k.decisions, 2);
    assert.deepEqual([k.arrivalWindowHitRate, k.conflictRate], [1, 0]);
  });
});

describe('cascade latency p95 and mesh availability (seed 002 §11.1)', () => {
  const US = 1000;
  const cascade = (latencyMs: number, atMs: number) => ({ type: 'CascadeCompleted', meta: { occurred_at: atMs * US }, latency_us: latencyMs * US }) as unknown as CascadeCompleted;
  const summary = (atS: number, activeRate: number) => ({ type: 'MeshSummarized', meta: { occurred_at: atS * 1_000_000 }, active_rate: activeRate }) as unknown as MeshSummarized;

  it('given 20 cascades of 100, 200 .. 2000 ms, then p95 by nearest rank is the 19th (ceil(0.95 * 20)): 1900 ms, 10 within the 1000 ms target, the last by event time', () => {
    const cs = Array.from({ length: 20 }, (_, i) => cascade((i + 1) * 100, 20 - i));
    const k = cascadeKpis(cs);
    assert.deepEqual([k.cascades, k.latencyP95Ms, k.withinTarget, k.last!.latency_us], [20, 1900, 10, 100 * US]);
    assert.equal(nearestRank([850], 95), 850);
    assert.deepEqual(cascadeKpis([]), { cascades: 0, latencyP95Ms: null, withinTarget: 0, last: null });
  });

  it('given summaries at 0 s (99% active), 10 s (90%), 15 s (97%) and 40 s (96%), then available 10 + 25 of 40 s = 87.5%', () => {
    const a = meshAvailability([summary(15, 0.97), summary(0, 0.99), summary(40, 0.96), summary(10, 0.90)]);
    assert.deepEqual([a.rate, a.fromUs, a.toUs, a.summaries], [35 / 40, 0, 40_000_000, 4]);
    assert.equal(meshAvailability([summary(3, 1)]).rate, null, 'one summary spans no time');
    assert.equal(meshAvailability([summary(0, 0.95), summary(5, 0.2)]).rate, 1, '95% counts as available');
  });
});
