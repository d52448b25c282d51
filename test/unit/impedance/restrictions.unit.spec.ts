import assert from 'node:assert/strict';
import type { CoordinationRequested } from '../../../schemas/generated/events';
import { coordinationRequested } from '../../../services/impedance/coordination';
import { circuitOpen, refusal, restrictionsOf, NO_RESTRICTIONS, type Restrictions } from '../../../services/impedance/restrictions';
import { computeSchedule, type ScheduleAgent } from '../../../services/impedance/schedule';

const NOW = 1_800_000_000_000_000;
const req = (priority: number, targets: string[]): CoordinationRequested => coordinationRequested({ targets, arrivalAtUs: NOW + 60_000_000, nowUs: NOW, priority });
const agent = (agentId: string, clusterId: string, sectorId = 'S0'): ScheduleAgent => ({
  agentId, agentClass: 'CLASS_A_EDGE', latencyMs: 10, processingMs: 10, sampleCount: 5, queueDepth: 0, drift: 0, reliability: 1, lastHeartbeatAt: NOW,
  state: 'ACTIVE', capabilities: [], clusterId, sectorId,
});
const ids = (n: number) => Array.from({ length: n }, (_, i) => `a${i}`);

describe('impedance: the guardian\'s restrictions on schedules (seed 002 §6.2-6.3)', () => {
  it('reads the shared hash: OPEN breakers, the mode, the freeze; HALF_OPEN is routable', () => {
    const r = restrictionsOf({ 'CLUSTER:c1': 'OPEN|5', 'CLUSTER:c2': 'HALF_OPEN|6', 'SECTOR:s9': 'CLOSED|7', mode: 'DEGRADED_MODERATE|8', frozen: '0|9' });
    assert.deepEqual([...r.open], ['CLUSTER:c1']);
    assert.equal(r.mode, 'DEGRADED_MODERATE');
    assert.equal(r.frozen, false);
  });

  it('SKIPs agents behind an open cluster, sector or mesh breaker with CIRCUIT_OPEN, and schedules the rest', () => {
    const r: Restrictions = { ...NO_RESTRICTIONS, open: new Set(['CLUSTER:c1', 'SECTOR:s2']) };
    const agents = new Map([agent('x', 'c1'), agent('y', 'c2'), agent('z', 'c3', 's2')].map((a) => [a.agentId, a]));
    const [chunk] = computeSchedule(req(2, ['x', 'y', 'z']), ['x', 'y', 'z'], (id) => agents.get(id), 10, (a) => circuitOpen(r, a));
    assert.deepEqual(chunk!.entries.map((e) => [e.agent_id, e.status, e.skip_reason]), [['y', 'SCHEDULED', null], ['x', 'SKIP', 'CIRCUIT_OPEN'], ['z', 'SKIP', 'CIRCUIT_OPEN']]);
    assert.equal(circuitOpen({ ...NO_RESTRICTIONS, open: new Set(['GLOBAL:global']) }, agent('y', 'c2')), true);
  });

  it('in DEGRADED_MODERATE refuses a scatter over 1000 agents, not one of 1000', () => {
    const r: Restrictions = { ...NO_RESTRICTIONS, mode: 'DEGRADED_MODERATE' };
    assert.equal(refusal(r, req(2, ids(1000)), 1000), null);
    assert.equal(refusal(r, req(2, ids(1001)), 1001), 'DEGRADED_MODERATE: scatter operations over 1000 agents are disabled (1001 targets)');
    assert.equal(refusal(NO_RESTRICTIONS, req(2, ids(5000)), 5000), null);
  });

  it('in DEGRADED_SEVERE and EMERGENCY refuses requests below critical (priority 3), approved or not; a freeze is not the hash\'s to refuse (freeze.ts sequences it)', () => {
    for (const mode of ['DEGRADED_SEVERE', 'EMERGENCY'] as const) {
      for (const approved of [false, true]) assert.match(refusal({ ...NO_RESTRICTIONS, mode }, req(2, ['a']), 1, approved)!, new RegExp(`^${mode}: critical operations only \\(priority 2 < 3\\)$`));
    }
    assert.equal(refusal({ ...NO_RESTRICTIONS, mode: 'EMERGENCY' }, req(3, ['a']), 1), null, 'EMERGENCY: critical traffic passes');
    assert.equal(refusal({ ...NO_RESTRICTIONS, frozen: true }, req(3, ['a']), 1), null);
  });

  it('in DEGRADED_SEVERE a critical request needs an operator\'s approval: refused without one, scheduled with one; no other mode asks for it', () => {
    const severe: Restrictions = { ...NO_RESTRICTIONS, mode: 'DEGRADED_SEVERE' };
    assert.match(refusal(severe, req(3, ['a']), 1, false)!, /^DEGRADED_SEVERE: operator approval required: approve a new correlation id \(solvermesh mesh approve <id>\)/);
    assert.equal(refusal(severe, req(3, ['a']), 1, true), null);
    for (const mode of ['FULL', 'DEGRADED_LIGHT', 'DEGRADED_MODERATE', 'EMERGENCY'] as const) assert.equal(refusal({ ...NO_RESTRICTIONS, mode }, req(3, ['a']), 1, false), null, mode);
  });
});
