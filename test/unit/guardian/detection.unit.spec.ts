// Failure detection with confirmation (seed 003): crashed only on a second, independent signal.
import assert from 'node:assert/strict';
import type { AgentCrashConfirmed } from '../../../schemas/generated/events';
import { GuardianCore } from '../../../services/guardian/core';
import { decide, evolve, type DetectionInput, type Signal, type Suspicion } from '../../../services/guardian/detection';
import { toEmits } from '../../../services/guardian/outputs';
import { SEED_POLICY } from '../../../services/guardian/policy';
import { S, agent, structural } from './events';

const sig = (kind: Signal['kind'], observer: string, at: number): DetectionInput => ({ kind: 'signal', agentId: 'a1', placement: null, signal: { kind, observer, eventId: `${kind}-${observer}-${at}`, at } });

function run(inputs: DetectionInput[]): { facts: string[][]; state: Suspicion | undefined } {
  let state: Suspicion | undefined;
  const facts = inputs.map((i) => { const f = decide(state, i); state = [i, ...f].reduce<Suspicion | undefined>(evolve, state); return f.map((x) => `${x.kind}@${x.at}`); });
  return { facts, state };
}

describe('failure detection with confirmation (seed 003)', () => {
  it('given missed heartbeats seen by one observer, however often, the agent is only suspected', () => {
    const { facts, state } = run([sig('MISSED_HEARTBEATS', 'impedance', 1), sig('MISSED_HEARTBEATS', 'impedance', 2)]);
    assert.deepEqual(facts, [[], []]);
    assert.deepEqual([state?.status, state?.signals.length], ['suspected', 1]);
  });

  it('given missed heartbeats and then a failed delivery, it is declared crashed at the second signal', () => {
    const { facts, state } = run([sig('MISSED_HEARTBEATS', 'impedance', 1), sig('FAILED_DELIVERY', 'dispatcher', 5), sig('FAILED_DELIVERY', 'other', 6)]);
    assert.deepEqual(facts, [[], ['crashConfirmed@5'], []]);
    assert.equal(state?.status, 'crashed');
  });

  it('given the same failure seen by two observers, it is declared crashed', () => {
    assert.deepEqual(run([sig('FAILED_DELIVERY', 'api', 1), sig('FAILED_DELIVERY', 'auth', 2)]).facts, [[], ['crashConfirmed@2']]);
  });

  it('given a sign of life between the signals, the suspicion is cleared and starts again', () => {
    const { facts, state } = run([sig('MISSED_HEARTBEATS', 'impedance', 1), { kind: 'alive', agentId: 'a1', at: 2 }, sig('FAILED_DELIVERY', 'api', 3)]);
    assert.deepEqual(facts, [[], [], []]);
    assert.deepEqual([state?.status, state?.since], ['suspected', 3]);
  });

  it('in the fold: an agent offline by heartbeat timeout and a failed call to it give one AgentCrashConfirmed naming both signals', () => {
    const core = new GuardianCore(SEED_POLICY);
    const off = agent('S000-C00-A01', 'S000-C00', 'S000', 'OFFLINE', 10 * S);
    const call = structural('dispatcher', 'CALL_RETURN', 11 * S, { request_id: 7, success: false, peer_component_id: 'S000-C00-A01' });
    const out = [off, call].flatMap((e) => toEmits(e.meta.event_id, core.fold(e)).map((x) => x.event));
    const crashed = out.filter((e): e is AgentCrashConfirmed => e.type === 'AgentCrashConfirmed');
    assert.equal(crashed.length, 1);
    assert.deepEqual([crashed[0]!.agent_id, crashed[0]!.cluster_id, crashed[0]!.suspected_at], ['S000-C00-A01', 'S000-C00', 10 * S]);
    assert.deepEqual(crashed[0]!.signals.map((x) => [x.kind, x.observer, x.event_id]), [['MISSED_HEARTBEATS', 'spec', off.meta.event_id], ['FAILED_DELIVERY', 'dispatcher', call.meta.event_id]]);
  });
});
