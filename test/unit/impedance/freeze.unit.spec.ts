import assert from 'node:assert/strict';
import type { MeshFrozen, MeshThawed } from '../../../schemas/generated/events';
import { coordinationRequested } from '../../../services/impedance/coordination';
import { evolveFreeze, refusal, sequencedCopies, THAWED, type FreezeState } from '../../../services/impedance/freeze';
import { FreezeGate } from '../../../services/impedance/freeze-gate';
import { evolveGate, OPEN_GATE } from '../../../services/impedance/coordination-gate';
import { coordinationApproved } from '../../../services/cli/commands/mesh-approve';
import { partitionOf } from '../../../services/runtime/kafka/partition-key';
import { keyOfTopic, misKeyed } from '../../../services/runtime/record-key';

const T = 1_767_225_600_000_000;
const frozen: MeshFrozen = {
  type: 'MeshFrozen', meta: { event_id: '7c9e6679-7425-40de-944b-e07fc1f90ae7', correlation_id: 'mesh', causation_id: null, occurred_at: T, producer: 'cli', sequence: null },
  reason: 'OPERATOR', reachable_peers: 0, total_peers: 0, detail: 'maintenance',
};
const thawed: MeshThawed = {
  type: 'MeshThawed', meta: { event_id: '9b2f0c1e-1111-4aaa-8bbb-000000000001', correlation_id: 'mesh', causation_id: frozen.meta.event_id, occurred_at: T + 60e6, producer: 'cli', sequence: null },
  reason: 'OPERATOR', frozen_at: T, reachable_peers: 0, total_peers: 0, detail: 'done',
};
const request = (n: number) => coordinationRequested({ targets: ['agent-1'], arrivalAtUs: T + 5e6, nowUs: T + n, correlationId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}` });

describe('impedance freeze (seed 002 §7.1): MESH_FROZEN refusals sequenced in each coordination partition', () => {
  it('given a freeze, then one copy per coordination partition, each keyed by its correlation id so the runner takes it and it lands there', () => {
    const copies = sequencedCopies(frozen, 6);
    assert.deepEqual(copies.map((c) => partitionOf(c.key, 6)), [0, 1, 2, 3, 4, 5]);
    for (const c of copies) {
      assert.equal(c.topic, 'mesh.coordination');
      assert.equal(misKeyed(keyOfTopic('mesh.coordination'), Buffer.from(c.key), c.event), undefined);
      assert.equal(c.event.meta.causation_id, frozen.meta.event_id);
    }
    assert.deepEqual(sequencedCopies(frozen, 6), copies, 'a replay writes the same copies');
  });

  it('given thawed, when frozen, then frozen since the freeze; a second freeze keeps the first start; a thaw ends it', () => {
    const s = evolveFreeze(THAWED, sequencedCopies(frozen, 6)[3]!.event as MeshFrozen);
    assert.deepEqual(s, { status: 'frozen', since: T, reason: 'OPERATOR', detail: 'maintenance', freezeId: frozen.meta.event_id });
    assert.deepEqual(evolveFreeze(s, { ...frozen, meta: { ...frozen.meta, occurred_at: T + 1 } }), s);
    assert.deepEqual(evolveFreeze(s, thawed), THAWED);
  });

  it('given a frozen partition, then a request is answered with a refused schedule on mesh.schedules: no entries, MESH_FROZEN first in its reason, keyed and caused by the request', () => {
    const req = request(1);
    const s = evolveFreeze(THAWED, frozen) as Extract<FreezeState, { status: 'frozen' }>;
    const r = refusal(req, s);
    assert.equal(r.topic, 'mesh.schedules');
    assert.equal(r.key, req.meta.correlation_id);
    assert.ok(r.event.type === 'ScheduleComputed');
    assert.deepEqual([r.event.entries, r.event.chunk_count, r.event.meta.causation_id, r.event.message_id], [[], 1, req.meta.event_id, req.message_id]);
    assert.match(r.event.refused_reason ?? '', /^MESH_FROZEN: the mesh is frozen since 2026-01-01T00:00:00.000Z \(OPERATOR: maintenance\); no new coordinations until it is thawed$/);
  });

  it('given one partition\'s log (request, freeze copy, request, thaw copy, request), then the gate lets the first and last through and stops the middle one; a restore gives back the state it restored', async () => {
    const gate = new FreezeGate();
    const seen: string[] = [];
    const look = async () => seen.push((await gate.state(2)).status);
    await look();
    await gate.fold(2, sequencedCopies(frozen, 6)[2]!.event as MeshFrozen);
    await look();
    await gate.fold(2, sequencedCopies(thawed, 6)[2]!.event as MeshThawed);
    await look();
    assert.deepEqual(seen, ['thawed', 'frozen', 'thawed']);
    assert.equal((await gate.state(3)).status, 'thawed', 'other partitions are their own');

    const restored = new FreezeGate(async () => evolveFreeze(THAWED, frozen));
    await restored.assigned([4]);
    assert.equal((await restored.state(4)).status, 'frozen');
    await restored.fold(4, thawed);
    restored.aborted();
    assert.equal((await restored.state(4)).status, 'frozen', 'the thaw of an aborted batch is taken back');
  });

  it('given one partition\'s log (approval of c1, freeze copy, thaw copy), then the gate holds c1 approved through the freeze and thaw, and no other id', () => {
    const approval = coordinationApproved('c1', 'cecilia', 'resync after the outage', T);
    let s = evolveGate(OPEN_GATE, approval);
    s = evolveGate(s, sequencedCopies(frozen, 6)[1]!.event as MeshFrozen);
    assert.equal(s.freeze.status, 'frozen');
    s = evolveGate(s, sequencedCopies(thawed, 6)[1]!.event as MeshThawed);
    assert.deepEqual([s.freeze, [...s.approved]], [THAWED, ['c1']]);
    assert.equal(evolveGate(s, approval), s, 'approved twice: unchanged');
    assert.deepEqual([...OPEN_GATE.approved], [], 'the initial state is not changed');
    assert.throws(() => coordinationApproved('c1', ' ', '', T), /--by: name the operator/);
  });
});
