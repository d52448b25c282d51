import assert from 'node:assert/strict';
import { validateEvent } from '../../../schemas/validate';
import { histogramQuantileMs, measureArrival } from '../../../services/impedance/accuracy';
import { operationalMode, stateAt, summarize, type AgentSnapshot } from '../../../services/impedance/summaries';
import { close, S, T0 } from './helpers';

const snap = (agentId: string, clusterId: string, sectorId: string, score: number, over: Partial<AgentSnapshot> = {}): AgentSnapshot => ({
  agentId, clusterId, sectorId, score, state: 'ACTIVE', lastHeartbeatAt: T0, drift: 0.1, ...over,
});

describe('impedance: summaries (seed 002 §4.2-4.3)', () => {
  const agents = [
    snap('a1', 'c1', 's1', 100), snap('a2', 'c1', 's1', 300), snap('a3', 'c1', 's1', 900, { drift: 0.7 }),
    snap('b1', 'c2', 's1', 50), snap('b2', 'c2', 's1', 70, { lastHeartbeatAt: T0 - 31 * S }),
    snap('d1', 'c3', 's2', 200, { state: 'DEGRADED' }),
  ];
  const s = summarize(agents, T0 + 5 * S, { samples: 10, within50ms: 9, p90ErrorMs: 40, conflicts: 2 });

  it('cluster: agents, active, degraded (> 800), unstable (drift > 0.5), mean, p95, slowest, fastest', () => {
    const c1 = s.clusters.find((c) => c.cluster_id === 'c1')!;
    assert.equal(c1.agent_count, 3);
    assert.equal(c1.active_count, 3);
    assert.equal(c1.degraded_count, 1);
    assert.equal(c1.unstable_count, 1);
    close(c1.mean_impedance, 1300 / 3);
    // quantiles([100, 300, 900], n=20)[18] = 1380 (extrapolated), clamped to the maximum
    close(c1.p95_impedance, 900);
    assert.equal(c1.slowest_agent_id, 'a3');
    assert.equal(c1.fastest_agent_id, 'a1');
    // b2 silent for 36 s at the tick: counted offline even before its owner's timer fired
    assert.equal(s.clusters.find((c) => c.cluster_id === 'c2')!.active_count, 1);
    for (const e of [...s.clusters, ...s.sectors, s.mesh]) assert.deepEqual(validateEvent(e), []);
  });

  it('sector and mesh: means of cluster means, healthy over 95 % active, prediction KPI', () => {
    const s1 = s.sectors.find((x) => x.sector_id === 's1')!;
    assert.equal(s1.total_agents, 5);
    assert.equal(s1.active_agents, 4);
    close(s1.mean_impedance, (1300 / 3 + 60) / 2);
    assert.equal(s1.healthiest_cluster_id, 'c2');
    assert.equal(s1.sickest_cluster_id, 'c1');
    assert.equal(s.mesh.total_agents, 6);
    assert.equal(s.mesh.active_agents, 4);
    close(s.mesh.active_rate, 4 / 6);
    assert.equal(s.mesh.sectors_healthy, 0);
    assert.equal(s.mesh.sectors_degraded, 2);
    close(s.mesh.prediction_hit_rate, 0.9);
    assert.equal(s.mesh.conflicts_last_hour, 2);
    assert.equal(operationalMode(s.mesh.active_rate), 'DEGRADED_MODERATE');
  });

  it('event ids are derived from the tick and scope, so a recomputed summary has the same id', () => {
    const again = summarize([...agents].reverse(), T0 + 5 * S);
    assert.equal(again.mesh.meta.event_id, s.mesh.meta.event_id);
    assert.deepEqual(again.clusters.map((c) => c.cluster_id), ['c1', 'c2', 'c3']);
  });

  it('modes follow seed 002 §6.3; state at a tick respects quarantine', () => {
    assert.deepEqual([0.95, 0.8, 0.6, 0.3, 0.29].map(operationalMode), ['FULL', 'DEGRADED_LIGHT', 'DEGRADED_MODERATE', 'DEGRADED_SEVERE', 'EMERGENCY']);
    assert.equal(stateAt(snap('q', 'c', 's', 1, { state: 'QUARANTINED', lastHeartbeatAt: 0 }), T0), 'QUARANTINED');
  });

  it('prediction error: within 50 ms, p90 from 10 ms buckets', () => {
    const m = measureArrival(T0 + 45_000, T0);
    assert.deepEqual(m, { errorMs: 45, within: true, bucket: 4 });
    assert.equal(measureArrival(T0 - 51_000, T0).within, false);
    assert.equal(histogramQuantileMs(new Map([[0, 5], [4, 4], [9, 1]]), 0.9), 50);
    assert.equal(histogramQuantileMs(new Map(), 0.9), null);
  });
});
