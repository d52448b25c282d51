import assert from 'node:assert/strict';
import { validateEvent } from '../../../schemas/validate';
import { buildMesh, heartbeat, NO_FAULTS, pickFaults, prng } from '../../../services/simulator/generator';
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
