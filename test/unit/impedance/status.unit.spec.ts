import assert from 'node:assert/strict';
import type { RegistryStore } from '../../../services/impedance/registry-store';
import { formatStatusBox, meshStatus, statusLine } from '../../../services/impedance/status';
import { NO_ACCURACY, type AgentSnapshot } from '../../../services/impedance/summaries';
import { S, T0 } from './helpers';

const snap = (agentId: string, state: AgentSnapshot['state'], lastHeartbeatAt: number): AgentSnapshot => ({
  agentId, clusterId: 'S000-C00', sectorId: 'S000', score: 100, state, lastHeartbeatAt, drift: 0,
});

describe('impedance: the status box (seed 002 §7.1, §7.2 "agents in quarantine")', () => {
  it('given agents active, degraded, quarantined and one silent for 40 s, then it counts each at the registry event time', async () => {
    const agents = [snap('a', 'ACTIVE', T0 + 40 * S), snap('b', 'DEGRADED', T0 + 39 * S), snap('c', 'QUARANTINED', T0 + 1 * S), snap('d', 'ACTIVE', T0)];
    const store = { snapshots: async () => agents, accuracy: async () => NO_ACCURACY } as unknown as RegistryStore;
    const s = await meshStatus(store);
    // the quarantined agent stays quarantined though silent; d is offline (40 s without heartbeat)
    assert.deepEqual([s.total, s.active, s.quarantined, s.offline, s.atUs], [4, 1, 1, 1, T0 + 40 * S]);
    assert.match(formatStatusBox(s), /│ Quarantined: 1, offline: 1 +│/);
    assert.match(statusLine(s), /^mesh: 1\/4 active \(25\.0%\), 1 offline, 1 quarantined,.*arrivals within 50 ms n\/a, mode/);
  });

  it('given 40 measured acks, 38 within 50 ms, then the line and the box show 95.0%', async () => {
    const store = {
      snapshots: async () => [snap('a', 'ACTIVE', T0)],
      accuracy: async () => ({ samples: 40, within50ms: 38, p90ErrorMs: 30, conflicts: 0 }),
    } as unknown as RegistryStore;
    const s = await meshStatus(store);
    assert.match(statusLine(s), /arrivals within 50 ms 95\.0%, mode/);
    assert.match(formatStatusBox(s), /│ Prediction within 50 ms: 95\.0% +│/);
  });
});
