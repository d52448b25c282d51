import assert from 'node:assert/strict';
import { agentLeadMs, MAX_COMPENSATION_MS, seedStages, sizedLeadMs } from '../../../services/coordinator/cascade-stages';
import type { AgentSnapshot } from '../../../services/impedance/summaries';
import type { ScheduleAgent } from '../../../services/impedance/schedule';

const snap = (agentId: string, sectorId: string, clusterId: string, score: number): AgentSnapshot => ({ agentId, sectorId, clusterId, score, state: 'ACTIVE', lastHeartbeatAt: 0, drift: 0 });

describe('cascade stages sized to their targets (seed 002 §3.3, §8.3)', () => {
  it('given an agent of 40 ms latency, 100 ms measured processing, queue 2, drift 0.5, then its lead is 40/2 + 100 x 1.2 + 0.5 x 40 = 160 ms (its schedule entry\'s)', () => {
    const a: ScheduleAgent = {
      agentId: 'a', agentClass: 'CLASS_D_GPU', latencyMs: 40, processingMs: 100, sampleCount: 5, queueDepth: 2, drift: 0.5, reliability: 1,
      lastHeartbeatAt: 0, state: 'ACTIVE', capabilities: [], clusterId: 'S0-C0', sectorId: 'S0',
    };
    assert.equal(agentLeadMs(a), 160);
  });

  it('given leads 20, 480.4 and a human\'s 60,000 ms, then the stage waits the path + 481 ms: the human, beyond the 1000 ms compensation range, does not size it', () => {
    const leadOf = new Map([['x', 20], ['y', 480.4], ['h', 60_000]]);
    assert.equal(MAX_COMPENSATION_MS, 1000);
    assert.equal(sizedLeadMs(['x', 'y', 'h'], { pathMs: 700, leadOf }), 1181);
    assert.equal(sizedLeadMs(['x'], { pathMs: 700, leadOf }), 720);
    assert.equal(sizedLeadMs(['unknown'], { pathMs: 700, leadOf }), 700);
  });

  it('given a wave over two sectors, then the coordinators\' and leads\' stages are sized by their own fast agents and the agents\' stage by the slowest agent of the sectors; a fixed lead stays the same for all', () => {
    const agents = [snap('S0-C0-A0', 'S0', 'S0-C0', 10), snap('S0-C0-A1', 'S0', 'S0-C0', 90), snap('S0-C1-A0', 'S0', 'S0-C1', 20), snap('S1-C0-A0', 'S1', 'S1-C0', 15), snap('S1-C0-A1', 'S1', 'S1-C0', 80)];
    const leadOf = new Map([['S0-C0-A0', 15], ['S0-C0-A1', 450], ['S0-C1-A0', 30], ['S1-C0-A0', 25], ['S1-C0-A1', 300]]);
    const sized = seedStages('WAVE', agents, { leadMs: 2000, timeoutMs: 5000, sized: { pathMs: 700, leadOf } });
    assert.deepEqual(sized.map((s) => s.targets), [['S0-C0-A0', 'S1-C0-A0'], ['S0-C0-A0', 'S0-C1-A0', 'S1-C0-A0'], ['sector:S0', 'sector:S1']]);
    assert.deepEqual(sized.map((s) => s.lead_ms), [725, 730, 1150]);
    assert.deepEqual(seedStages('WAVE', agents, { leadMs: 2000, timeoutMs: 5000 }).map((s) => s.lead_ms), [2000, 2000, 2000]);
  });
});
