import assert from 'node:assert/strict';
import type { AckReceived, AgentStateChanged, HeartbeatReceived, MeshHealRequested } from '../../../schemas/generated/events';
import { NO_ACKS } from '../../../services/impedance/ack-fold';
import { PartitionFold } from '../../../services/impedance/partition-fold';
import { ackOf, hb, S, T0 } from './helpers';

// seed 002 §7.1 `heal`: quarantines released, what can be reset reset, as a record each agent's
// ack fold obeys at its place among the agent's acks.
const beats = (from: number, to: number, agent = 'agent-1'): HeartbeatReceived[] =>
  Array.from({ length: to - from + 1 }, (_, i) => hb({ agent, at: T0 + (from + i) * 5 * S, latency: 100, processing: 50 }));
const hash = (t: number, agent = 'agent-1') => ackOf({ agent, at: T0 + t * S, message: `h${t}-${agent}`, state: 'CONFLICT', conflictType: 'HASH_MISMATCH' });
const conflict = (t: number, agent = 'agent-1') => ackOf({ agent, at: T0 + t * S, message: `c${t}-${agent}`, state: 'CONFLICT' });
const heal = (t: number, agents: string[] = []): MeshHealRequested => ({
  type: 'MeshHealRequested',
  meta: { event_id: `00000000-0000-4000-8000-0000000000${String(t).padStart(2, '0')}`, correlation_id: 'mesh-heal:x:0', causation_id: 'orig', occurred_at: T0 + t * S, producer: 'cli', sequence: null },
  operator: 'cecilia', agent_ids: agents, detail: 'after the incident',
});

type Input = { hb: HeartbeatReceived } | { ack: AckReceived; offset: number } | { heal: MeshHealRequested; offset: number };

function run(inputs: readonly Input[], fold = new PartitionFold()): { fold: PartitionFold; changed: AgentStateChanged[] } {
  const changed: AgentStateChanged[] = [];
  for (const x of inputs) changed.push(...('hb' in x ? fold.apply(x.hb) : 'ack' in x ? fold.applyAck(x.ack, x.offset) : fold.applyHeal(x.heal, x.offset)).changed);
  fold.commit();
  return { fold, changed };
}

describe('impedance: mesh heal releases quarantines in the ack fold', () => {
  it('given an agent quarantined by a HASH_MISMATCH, when a heal comes before the hold ends, then it is ACTIVE again at the heal (cause OPERATOR) and its hold timer no longer fires', () => {
    const { fold, changed } = run([
      ...beats(0, 1).map((x) => ({ hb: x })), { ack: hash(7), offset: 0 }, { heal: heal(20), offset: 1 }, ...beats(2, 18).map((x) => ({ hb: x })),
    ]);
    assert.deepEqual(changed.map((c) => [c.previous_state, c.new_state, c.cause, c.meta.occurred_at]), [
      ['ACTIVE', 'QUARANTINED', 'CONTEXT_CORRUPTION', T0 + 7 * S],
      ['QUARANTINED', 'ACTIVE', 'OPERATOR', T0 + 20 * S],
    ]);
    assert.match(changed[1]!.detail ?? '', /quarantine \(CONTEXT_CORRUPTION\) released by cecilia's heal: after the incident/);
    const a = fold.agents.get('agent-1')!;
    assert.deepEqual([a.acks.quarantinedUntil, a.acks.quarantineCause, a.acks.lastOffset, a.acks.count], [null, null, 1, 1], 'the ack still counts');
  });

  it('given two conflicts in a row (one short of quarantine), when healed, then the streak starts again: two more do not quarantine, a third does', () => {
    const f = new PartitionFold();
    const { changed } = run([
      ...beats(0, 1).map((x) => ({ hb: x })), { ack: conflict(6), offset: 0 }, { ack: conflict(7), offset: 1 }, { heal: heal(8), offset: 2 },
      { ack: conflict(9), offset: 3 }, { ack: conflict(10), offset: 4 },
    ], f);
    assert.deepEqual(changed, []);
    const third = run([{ ack: conflict(11), offset: 5 }], f);
    assert.deepEqual(third.changed.map((c) => [c.new_state, c.cause]), [['QUARANTINED', 'BYZANTINE_BEHAVIOR']]);
  });

  it('given a heal naming one agent, then only that one is released; each release has an id of its own', () => {
    const two = [...beats(0, 1, 'a1'), ...beats(0, 1, 'a2'), ...beats(0, 1, 'a3')].map((x) => ({ hb: x }));
    const { changed } = run([...two, { ack: hash(7, 'a1'), offset: 0 }, { ack: hash(7, 'a2'), offset: 1 }, { ack: hash(7, 'a3'), offset: 2 }, { heal: heal(9, ['a2']), offset: 3 }]);
    assert.deepEqual(changed.filter((c) => c.cause === 'OPERATOR').map((c) => c.agent_id), ['a2']);
    const all = run([...two, { ack: hash(7, 'a1'), offset: 0 }, { ack: hash(7, 'a2'), offset: 1 }, { ack: hash(7, 'a3'), offset: 2 }, { heal: heal(9), offset: 3 }]);
    const released = all.changed.filter((c) => c.cause === 'OPERATOR');
    assert.deepEqual(released.map((c) => c.agent_id), ['a1', 'a2', 'a3']);
    assert.equal(new Set(released.map((c) => c.meta.event_id)).size, 3);
  });

  it('given acks held for an agent not heard from yet, then the heal resets them too, so the agent is the same whichever came first', () => {
    const acksFirst = run([{ ack: hash(7), offset: 0 }, { heal: heal(8), offset: 1 }, ...beats(0, 3).map((x) => ({ hb: x }))]);
    assert.equal(acksFirst.fold.agents.get('agent-1')!.state, 'ACTIVE');
    assert.equal(acksFirst.fold.agents.get('agent-1')!.acks.quarantinedUntil, null);
  });

  it('given a tail replayed over a state that folded the heal and a later quarantine, then the heal is not applied twice', () => {
    const f = new PartitionFold();
    run([...beats(0, 1).map((x) => ({ hb: x })), { ack: hash(7), offset: 0 }, { heal: heal(8), offset: 1 }, { ack: hash(9), offset: 2 }], f);
    assert.equal(f.agents.get('agent-1')!.state, 'QUARANTINED');
    // a new owner's tail replay from an earlier offset meets the heal again
    const again = run([{ ack: hash(7), offset: 0 }, { heal: heal(8), offset: 1 }, { ack: hash(9), offset: 2 }], f);
    assert.deepEqual(again.changed, []);
    assert.equal(f.agents.get('agent-1')!.state, 'QUARANTINED');
  });

  it('given a heal in a batch that did not commit, when rolled back, then the agent is quarantined again', () => {
    const { fold: f } = run([...beats(0, 1).map((x) => ({ hb: x })), { ack: hash(7), offset: 0 }]);
    f.applyHeal(heal(8), 1);
    assert.equal(f.agents.get('agent-1')!.state, 'ACTIVE');
    f.rollback();
    assert.equal(f.agents.get('agent-1')!.state, 'QUARANTINED');
    assert.notDeepEqual(f.agents.get('agent-1')!.acks, NO_ACKS);
  });
});
