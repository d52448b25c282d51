import assert from 'node:assert/strict';
import type { CircuitStateChanged } from '../../../schemas/generated/events';
import { MeshView } from '../../../services/gateway/mesh-view';

const T = 1_800_000_000_000_000;
const change = (scope: CircuitStateChanged['scope'], id: string, from: CircuitStateChanged['previous_state'], to: CircuitStateChanged['new_state'], at: number): CircuitStateChanged => ({
  type: 'CircuitStateChanged',
  meta: { event_id: `${id}-${at}`, correlation_id: `${scope}:${id}`, causation_id: null, occurred_at: at, producer: 'guardian', sequence: null },
  scope, scope_id: id, previous_state: from, new_state: to, failure_count: 6, failure_threshold: 5, reason: `6 agents down > 5 in ${id}`,
  next_probe_at: null, incident_detected_at: null, recovery_time_us: null,
});

describe('gateway live page: breakers OPEN now, whose agents are not routable (seed 002 §6.2)', () => {
  it('given a cluster and a sector opened and the cluster half-open later, then only the sector is listed; a change on another topic is not shown', () => {
    const v = new MeshView();
    v.onEvent('mesh.circuits', change('CLUSTER', 'S000-C00', 'CLOSED', 'OPEN', T));
    v.onEvent('mesh.circuits', change('SECTOR', 'S003', 'CLOSED', 'OPEN', T + 1));
    assert.deepEqual(v.snapshot().open_circuits.map((o) => `${o.scope}:${o.scope_id}`), ['CLUSTER:S000-C00', 'SECTOR:S003']);
    assert.equal(v.snapshot().open_circuits[0]!.since, new Date(T / 1000).toISOString());
    v.onEvent('mesh.circuits', change('CLUSTER', 'S000-C00', 'OPEN', 'HALF_OPEN', T + 30_000_000));
    v.onEvent('mesh.witnesses', change('CLUSTER', 'S009-C09', 'CLOSED', 'OPEN', T + 2));
    assert.deepEqual(v.snapshot().open_circuits.map((o) => `${o.scope}:${o.scope_id}`), ['SECTOR:S003']);
  });
});
