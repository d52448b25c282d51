import assert from 'node:assert/strict';
import { validateEvent } from '../../../schemas/validate';
import type { MeshStatus } from '../../../services/impedance/status';
import { checkMeshDemo, expectedStatus } from '../../../services/simulator/expectation';
import type { MessageDispatched } from '../../../schemas/generated/events';
import { ack, buildMesh, heartbeat, NO_FAULTS, pickFaults, prng } from '../../../services/simulator/generator';
import { T0 } from './helpers';

describe('simulator: the MESH-30K population (seed 002 §2.1-2.2)', () => {
  const mesh = buildMesh(30_000, 1);

  it('has the seed class mix, 30 agents per cluster, 10 clusters per sector', () => {
    const counts: Record<string, number> = {};
    for (const a of mesh) counts[a.agentClass] = (counts[a.agentClass] ?? 0) + 1;
    assert.deepEqual(counts, { CLASS_A_EDGE: 10_000, CLASS_B_SERVERLESS: 8_000, CLASS_C_PERSISTENT: 5_000, CLASS_D_GPU: 2_000, CLASS_E_LOCAL: 3_000, CLASS_F_HUMAN: 2_000 });
    assert.equal(new Set(mesh.map((a) => a.clusterId)).size, 1000);
    assert.equal(new Set(mesh.map((a) => a.sectorId)).size, 100);
    assert.equal(new Set(mesh.map((a) => a.agentId)).size, 30_000);
    // heartbeats spread evenly over the 5 s period: 6,000/s
    assert.equal(mesh.filter((a) => a.phaseUs < 1_000_000).length, 6_000);
  });

  it('is deterministic per seed; faults silence dead agents and failing clusters', () => {
    assert.deepEqual(buildMesh(300, 9), buildMesh(300, 9));
    const a = mesh[0]!;
    const hb = heartbeat(a, T0, 2, prng(1), NO_FAULTS)!;
    assert.deepEqual(validateEvent(hb), []);
    assert.equal(hb.meta.occurred_at, T0 + 10_000_000 + a.phaseUs);
    assert.equal(heartbeat(a, T0, 2, prng(1), { ...NO_FAULTS, failingClusters: new Set([a.clusterId]) }), null);
    const f = pickFaults(mesh, { slow: 10, dead: 5, diesAfterPeriods: 2 }, 2);
    assert.equal(f.slow.size, 10);
    assert.equal(f.dead.size, 5);
    // a dead agent with diesAfterPeriods 2 sends periods 0 and 1, then nothing
    const d = mesh.find((x) => f.dead.has(x.agentId))!;
    assert.deepEqual([0, 1, 2, 3].map((p) => heartbeat(d, T0, p, prng(1), f) !== null), [true, true, false, false]);
  });
});

describe('simulator: what the mesh demo must end with', () => {
  const mesh = buildMesh(3000, 1);
  const faults = pickFaults(mesh, { slow: 6, dead: 3, drifting: 6, failingClusters: [mesh[2999]!.clusterId], diesAfterPeriods: 1 }, 3);
  const down = mesh.filter((a) => faults.dead.has(a.agentId) || faults.failingClusters.has(a.clusterId));
  const slowOk = mesh.filter((a) => faults.slow.has(a.agentId) && !down.includes(a) && a.agentClass !== 'CLASS_F_HUMAN').length;

  it('given event time 35 s after the start (every down agent past its last heartbeat + 30 s), then all of them count as down', () => {
    const e = expectedStatus(mesh, faults, T0, T0 + 35_000_000);
    assert.equal(e.down, down.length);
    assert.equal(e.active, 3000 - down.length - slowOk);
    assert.equal(e.tolerance, mesh.filter((a) => faults.drifting.has(a.agentId) && !faults.slow.has(a.agentId) && !down.includes(a)).length + 6);
  });

  it('given event time 30 s after the start, then only those whose heartbeat phase was 0 are down yet', () => {
    const e = expectedStatus(mesh, faults, T0, T0 + 30_000_000);
    assert.equal(e.down, down.filter((a) => a.phaseUs === 0).length);
  });

  it('given down agents never heard from (diesAfterPeriods 0), then they are not in the expected total', () => {
    const e = expectedStatus(mesh, { ...faults, diesAfterPeriods: 0 }, T0, T0 + 35_000_000);
    assert.deepEqual([e.total, e.down, e.active], [3000 - down.length, 0, 3000 - down.length - slowOk]);
  });

  it('given a status off by more than the tolerance, then the check fails naming both counts', () => {
    const expected = expectedStatus(mesh, faults, T0, T0 + 35_000_000);
    const status = { total: 3000, active: expected.active - expected.tolerance - 1 } as MeshStatus;
    const coordination = { requests: 8, accuracy: { samples: 400, within50ms: 370, p90ErrorMs: 40, conflicts: 2 } };
    assert.throws(() => checkMeshDemo({ status, expected, coordination }), new RegExp(`${status.active} of 3000 active; expected ${expected.active} ± ${expected.tolerance}`));
    assert.match(checkMeshDemo({ status: { ...status, active: expected.active + expected.tolerance }, expected, coordination }),
      /active; expected .*; 8 coordination requests: 400 acks measured, 92\.5% within 50 ms of the predicted arrival \(seed KPI 90%\), p90 error ≤ 40 ms, 2 CONFLICT/);
  });

  it('given coordination requests sent but not one ack measured, then the check fails: the request → schedule → ack loop is broken', () => {
    const expected = expectedStatus(mesh, faults, T0, T0 + 35_000_000);
    const status = { total: 3000, active: expected.active } as MeshStatus;
    const none = { samples: 0, within50ms: 0, p90ErrorMs: null, conflicts: 0 };
    assert.throws(() => checkMeshDemo({ status, expected, coordination: { requests: 8, accuracy: none } }), /8 coordination requests: no acks measured/);
    assert.match(checkMeshDemo({ status, expected, coordination: { requests: 1, accuracy: none } }), /1 coordination requests: no acks measured/);
  });
});

describe('simulator: an agent\'s arrival counts from when its message was written', () => {
  const a = buildMesh(300, 1)[0]!;
  const m = (dispatchedAt: number): MessageDispatched => ({
    type: 'MessageDispatched', meta: { event_id: 'e', correlation_id: 'c', causation_id: null, occurred_at: dispatchedAt, producer: 'coordinator', sequence: null },
    message_id: 'm', agent_id: a.agentId, created_at: T0, send_at: T0 + 1_000_000, dispatched_at: dispatchedAt, target_arrival_time: T0 + 1_200_000,
    ttl_ms: 5000, expires_at: T0 + 5_000_000, priority: 2, payload_hash: 'h', trinary_expectation: 'READY', lead_time_ms: 200, expected_processing_ms: 50, confidence: 0.9, applied_through: null,
  });

  it('given a tick written 100 ms ahead of send_at and the message\'s record 250 ms after the tick, then the agent arrives 250 ms later than counted from the tick (bench-coordination\'s dispatch error, honest)', () => {
    const tick = T0 + 900_000;
    const fromTick = ack(a, m(tick), prng(3), NO_FAULTS)!;
    const fromRecord = ack(a, m(tick), prng(3), NO_FAULTS, 0, tick + 250_000)!;
    assert.equal(fromRecord.actual_arrival_at - fromTick.actual_arrival_at, 250_000);
  });

  it('given a record timestamp before the tick\'s event time (clocks apart), then never earlier than counted from the tick', () => {
    const tick = T0 + 900_000;
    assert.equal(ack(a, m(tick), prng(3), NO_FAULTS, 0, tick - 50_000)!.actual_arrival_at, ack(a, m(tick), prng(3), NO_FAULTS)!.actual_arrival_at);
  });
});
