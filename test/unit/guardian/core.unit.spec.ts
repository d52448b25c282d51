// The guardian's fold of its sequenced log: what a failing cluster, a three-cluster cascade, a
// shrinking mesh and a minority partition produce, and that a second fold of the same log
// produces the same events.
import assert from 'node:assert/strict';
import type { SolvermeshEvent } from '../../../schemas/generated/events';
import { GuardianCore, type GuardianInput } from '../../../services/guardian/core';
import { toEmits } from '../../../services/guardian/outputs';
import { SEED_POLICY } from '../../../services/guardian/policy';
import { DEFAULT_LIMITS, validateEvent } from '../../../schemas/validate';
import { S, agent, summary, tick } from './events';

function fold(inputs: GuardianInput[], core = new GuardianCore(SEED_POLICY)): SolvermeshEvent[] {
  return inputs.flatMap((e) => toEmits(e.meta.event_id, core.fold(e)).map((x) => x.event));
}
const T0 = 1_800_000_000 * S;
const failing = (cluster: string, n: number, at: number, state: 'OFFLINE' | 'ACTIVE' = 'OFFLINE') =>
  Array.from({ length: n }, (_, k) => agent(`${cluster}-${k}`, cluster, 's1', state, at + k));
const brief = (e: SolvermeshEvent) => (e.type === 'CircuitStateChanged' ? `${e.scope_id} ${e.previous_state}->${e.new_state}` : e.type === 'StructuralWitnessRecorded' ? `witness ${e.trigger}` : e.type);

describe('guardian fold', () => {
  it('given 6 agents of one cluster going offline, its breaker opens; probed at +30 s after recovery it goes half-open, and closes 60 s later', () => {
    const events = fold([
      ...failing('c1', 6, T0), ...failing('c1', 6, T0 + 10 * S, 'ACTIVE'),
      tick(T0 + 29 * S), tick(T0 + 31 * S), tick(T0 + 90 * S), tick(T0 + 92 * S),
    ]);
    assert.deepEqual(events.map(brief), ['c1 CLOSED->OPEN', 'c1 OPEN->HALF_OPEN', 'c1 HALF_OPEN->CLOSED']);
    const [opened, half, closed] = events;
    assert.ok(opened?.type === 'CircuitStateChanged' && half?.type === 'CircuitStateChanged' && closed?.type === 'CircuitStateChanged');
    assert.deepEqual([opened.failure_count, opened.failure_threshold, opened.next_probe_at], [6, 5, T0 + 5 + 30 * S]);
    assert.deepEqual([half.meta.occurred_at, half.next_probe_at], [T0 + 31 * S, T0 + 91 * S]);
    assert.equal(closed.next_probe_at, null);
  });

  it('given agents of three clusters going down within 1 s, one cascade witness and all three cluster breakers open', () => {
    const events = fold([agent('a', 'c1', 's1', 'OFFLINE', T0), agent('b', 'c2', 's1', 'OFFLINE', T0 + 300_000), agent('c', 'c3', 's2', 'OFFLINE', T0 + 600_000), agent('d', 'c3', 's2', 'OFFLINE', T0 + 700_000)]);
    assert.deepEqual(events.map(brief), ['witness CASCADE', 'c1 CLOSED->OPEN', 'c2 CLOSED->OPEN', 'c3 CLOSED->OPEN']);
    const w = events[0]!;
    assert.ok(w.type === 'StructuralWitnessRecorded');
    assert.deepEqual(w.component_states.map((s) => [s.component_id, s.circuit_state]), [['cluster:c1', 'CLOSED'], ['cluster:c2', 'CLOSED'], ['cluster:c3', 'CLOSED']]);
    assert.equal(w.causal_chain.length, 3);
  });

  it('given the summaries of a shrinking mesh, a mode change per transition; below half reachable it freezes and thaws on recovery', () => {
    const offline = Array.from({ length: 6 }, (_, k) => agent(`x${k}`, `c${k}`, `s${k}`, 'OFFLINE', T0 + k * 2 * S));
    const events = fold([
      summary(10, 10, T0 - S), summary(9, 10, T0), ...offline, summary(4, 10, T0 + 20 * S),
      ...offline.slice(0, 2).map((e, k) => agent(e.agent_id, e.cluster_id, e.sector_id, 'ACTIVE', T0 + 30 * S + k)),
    ]);
    const kinds = events.filter((e) => e.type !== 'CircuitStateChanged').map((e) => (e.type === 'OperationalModeChanged' ? `${e.previous_mode}->${e.new_mode}` : e.type));
    assert.deepEqual(kinds, ['FULL->DEGRADED_LIGHT', 'MeshFrozen', 'DEGRADED_LIGHT->DEGRADED_SEVERE', 'MeshThawed']);
    const frozen = events.find((e) => e.type === 'MeshFrozen')!;
    const thawed = events.find((e) => e.type === 'MeshThawed')!;
    assert.ok(frozen.type === 'MeshFrozen' && thawed.type === 'MeshThawed');
    assert.deepEqual([frozen.reachable_peers, frozen.total_peers], [4, 10]);
    assert.deepEqual([thawed.reachable_peers, thawed.meta.causation_id], [5, frozen.meta.event_id]);
  });

  it('given a cluster id at the schemas\' string limit, its breaker change still validates (the correlation id would be CLUSTER: plus 4096 characters)', () => {
    // found by make soak: impedance dead-lettered such a change as VALIDATION_FAILED, so it never restricted the cluster
    const long = 'x'.repeat(DEFAULT_LIMITS.maxStringLength);
    const events = fold(failing(long, 6, T0));
    assert.deepEqual(events.map((e) => e.type), ['CircuitStateChanged']);
    assert.deepEqual(validateEvent(events[0]!), []);
    assert.equal(events[0]!.type === 'CircuitStateChanged' && events[0]!.scope_id, long);
  });

  it('folds the same log to the same events, ids included', () => {
    const log = [...failing('c1', 6, T0), agent('b', 'c2', 's1', 'OFFLINE', T0 + 10), agent('c', 'c3', 's1', 'OFFLINE', T0 + 20), tick(T0 + 40 * S), summary(1, 3, T0 + 41 * S)];
    assert.deepEqual(fold(log), fold(log));
    assert.ok(fold(log).length >= 5);
  });
});
