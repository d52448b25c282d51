import assert from 'node:assert/strict';
import { loadEventSchemas } from '../../../schemas/catalog';
import type { AckReceived, AgentStateChanged, HeartbeatReceived, ImpedanceUpdated } from '../../../schemas/generated/events';
import { validateEvent } from '../../../schemas/validate';
import { foldAck, NO_ACKS, QUARANTINE_HOLD_MS } from '../../../services/impedance/ack-fold';
import { foldAgentAck, foldHeartbeat, fromImpedanceUpdated, toImpedanceUpdated, type AgentState } from '../../../services/impedance/agent-fold';
import { PartitionFold } from '../../../services/impedance/partition-fold';
import { ackOf, close, hb, S, T0 } from './helpers';

const HOLD = QUARANTINE_HOLD_MS * 1000;

/** Heartbeats of `agent` every 5 s from T0 + from*5 s to T0 + to*5 s. */
const beats = (from: number, to: number, agent = 'agent-1'): HeartbeatReceived[] =>
  Array.from({ length: to - from + 1 }, (_, i) => hb({ agent, at: T0 + (from + i) * 5 * S, latency: 100, processing: 50 }));

type Input = { hb: HeartbeatReceived } | { ack: AckReceived; offset: number };

function run(inputs: readonly Input[], fold = new PartitionFold()): { fold: PartitionFold; changed: AgentStateChanged[] } {
  const changed: AgentStateChanged[] = [];
  for (const x of inputs) changed.push(...('hb' in x ? fold.apply(x.hb) : fold.applyAck(x.ack, x.offset)).changed);
  fold.commit();
  return { fold, changed };
}

const acksAt = (acks: readonly AckReceived[], first = 0): Input[] => acks.map((ack, i) => ({ ack, offset: first + i }));
const hbs = (list: readonly HeartbeatReceived[]): Input[] => list.map((x) => ({ hb: x }));

function roundTrip(e: ImpedanceUpdated): ImpedanceUpdated {
  const schema = loadEventSchemas().get('ImpedanceUpdated')!;
  return { ...(schema.type.fromBuffer(schema.type.toBuffer(e)) as object), type: 'ImpedanceUpdated' } as ImpedanceUpdated;
}

describe('impedance: acks folded into reliability (seed 002 §2.3 success rate over the last hour)', () => {
  it('given 3 heartbeats and READY acks on time, late, and CONFLICT/TRANSIT ones, then R = (3 + 2) / (3 + 2 + 1) and the score divides by it', () => {
    // given three heartbeats 5 s apart (latency 100, processing 50: delay 100 ms, none missed)
    let a: AgentState = beats(0, 2).reduce<AgentState | undefined>((x, b) => foldHeartbeat(x, b)!.agent, undefined)!;
    assert.equal(a.reliability, 1);
    // when acks come: on time, 200 ms late (inside the 500 ms arrival window), 800 ms late
    // (a straggler), a CONFLICT and a TRANSIT (neither success nor failure, seed §1.4)
    const acks = [
      ackOf({ at: T0 + 1 * S, message: 'm1' }), ackOf({ at: T0 + 2 * S, message: 'm2', lateMs: 200 }), ackOf({ at: T0 + 3 * S, message: 'm3', lateMs: 800 }),
      ackOf({ at: T0 + 4 * S, message: 'm4', state: 'CONFLICT' }), ackOf({ at: T0 + 6 * S, message: 'm5', state: 'TRANSIT' }),
    ];
    acks.forEach((x, i) => { a = foldAgentAck(a, x, i, T0 + 10 * S)!.agent; });
    // then reliability = (3 heartbeats + 2 on time) / (3 + 2 + 1 late) = 5/6, score = 100 / (5/6)
    close(a.reliability, 5 / 6);
    close(a.score, 120);
    assert.equal(a.revision, 3 + 5);
    assert.equal(a.state, 'ACTIVE');
  });

  it('given an ack folded before, when it comes again (a replayed offset, or re-sent at a new offset), then it counts once; TRANSIT then READY for one message count both', () => {
    const t1 = foldAck(NO_ACKS, ackOf({ message: 'm1', lateMs: 900 }), 4)!;
    assert.equal(foldAck(t1, ackOf({ message: 'm9' }), 4), undefined, 'offset at or below the last one folded');
    assert.equal(foldAck(t1, ackOf({ message: 'm1', lateMs: 900 }), 5), undefined, 're-sent');
    const t2 = foldAck(foldAck(NO_ACKS, ackOf({ message: 'm1', state: 'TRANSIT' }), 0)!, ackOf({ message: 'm1' }), 1)!;
    assert.equal(t2.count, 2);
    assert.deepEqual(t2.buckets.map((b) => [b.onTime, b.late]), [[1, 0]]);
  });

  it('given a late ack more than an hour before the latest heartbeat, then it no longer counts', () => {
    let a = foldHeartbeat(undefined, hb({ at: T0 }))!.agent;
    a = foldAgentAck(a, ackOf({ at: T0, message: 'old', lateMs: 900 }), 0, T0)!.agent;
    close(a.reliability, 1 / 2);
    // when the next heartbeat comes 3,900 s later (13 five-minute buckets on): the gap missed
    // round(3900 / 5) - 1 = 779 heartbeats, counted in the new bucket; the first heartbeat and
    // the late ack are in a bucket out of the hour
    a = foldHeartbeat(a, hb({ at: T0 + 3900 * S }))!.agent;
    // then R = 1 / (1 + 779), not 1 / (1 + 779 + 1)
    close(a.reliability, 1 / 780);
  });
});

describe('impedance: the two folds of an agent do not depend on how heartbeats and acks interleave', () => {
  const heartbeats = beats(0, 20);
  const acks = [
    ackOf({ at: T0 + 1 * S, message: 'm1' }), ackOf({ at: T0 + 2 * S, message: 'm2', lateMs: 700 }),
    ackOf({ at: T0 + 3 * S, message: 'm3', state: 'CONFLICT' }), ackOf({ at: T0 + 4 * S, message: 'm4', state: 'CONFLICT' }),
    ackOf({ at: T0 + 6 * S, message: 'm5', state: 'CONFLICT' }), ackOf({ at: T0 + 7 * S, message: 'm6' }),
  ];
  const orders: Record<string, Input[]> = {
    'acks first (held for an agent not heard from yet)': [...acksAt(acks), ...hbs(heartbeats)],
    'heartbeats first (the quarantine is over before it is folded)': [...hbs(heartbeats), ...acksAt(acks)],
    'interleaved': [...hbs(heartbeats.slice(0, 2)), ...acksAt(acks.slice(0, 4)), ...hbs(heartbeats.slice(2, 5)), ...acksAt(acks.slice(4), 4), ...hbs(heartbeats.slice(5))],
  };
  const results = Object.entries(orders).map(([name, inputs]) => [name, run(inputs).fold.agents.get('agent-1')!] as const);

  for (const [name, agent] of results.slice(1)) {
    it(`given the same records, when folded ${name}, then the agent equals the one folded acks first`, () => {
      assert.deepEqual(agent, results[0]![1]);
    });
  }
  it('and that agent is hand-computable: quarantined at 6 s until 66 s, released by the heartbeat at 100 s; R = (21 + 2) / (21 + 3)', () => {
    const a = results[0]![1];
    assert.equal(a.acks.quarantinedAt, T0 + 6 * S);
    assert.equal(a.acks.quarantinedUntil, T0 + 6 * S + HOLD);
    assert.equal(a.state, 'ACTIVE');
    close(a.reliability, 23 / 24);
    assert.equal(a.revision, 21 + 6);
    assert.equal(a.updatedAt, T0 + 100 * S);
  });
});

describe('impedance: quarantine (seed 002 §6.1 CONTEXT_CORRUPTION, BYZANTINE_BEHAVIOR) and its event-time release', () => {
  it('given 3 CONFLICT acks in a row, then the third quarantines the agent (BYZANTINE_BEHAVIOR) at its event time, and the watermark reaching +60 s releases it', () => {
    // given heartbeats every 5 s and three conflicts at 11, 12, 13 s
    const { changed } = run([
      ...hbs(beats(0, 2)),
      ...acksAt([11, 12, 13].map((t) => ackOf({ at: T0 + t * S, message: `m${t}`, state: 'CONFLICT' }))),
      ...hbs(beats(3, 15)),
    ]);
    // then one change to QUARANTINED at 13 s, caused by the third ack, and one back at 73 s
    assert.deepEqual(changed.map((c) => [c.previous_state, c.new_state, c.cause, c.meta.occurred_at]), [
      ['ACTIVE', 'QUARANTINED', 'BYZANTINE_BEHAVIOR', T0 + 13 * S],
      ['QUARANTINED', 'ACTIVE', 'RECOVERED', T0 + 73 * S],
    ]);
    assert.match(changed[0]!.detail ?? '', /3 CONFLICT acks in a row/);
  });

  it('given the three conflicts folded out of event-time order (13, 11, 12 s), then the quarantine starts at the latest, 13 s', () => {
    const { changed } = run([...hbs(beats(0, 2)), ...acksAt([13, 11, 12].map((t) => ackOf({ at: T0 + t * S, message: `m${t}`, state: 'CONFLICT' })))]);
    assert.deepEqual(changed.map((c) => [c.new_state, c.meta.occurred_at]), [['QUARANTINED', T0 + 13 * S]]);
  });

  it('given CONFLICT, CONFLICT, READY, CONFLICT, CONFLICT, then no quarantine: READY ends the streak', () => {
    const states = ['CONFLICT', 'CONFLICT', 'READY', 'CONFLICT', 'CONFLICT'] as const;
    const { fold, changed } = run([...hbs(beats(0, 2)), ...acksAt(states.map((state, i) => ackOf({ at: T0 + (11 + i) * S, message: `m${i}`, state })))]);
    assert.deepEqual(changed, []);
    assert.equal(fold.agents.get('agent-1')!.acks.conflictStreak, 2);
    assert.equal(fold.agents.get('agent-1')!.state, 'ACTIVE');
  });

  it('given one CONFLICT of type HASH_MISMATCH, then the agent is quarantined at once (CONTEXT_CORRUPTION)', () => {
    const { changed } = run([...hbs(beats(0, 1)), ...acksAt([ackOf({ at: T0 + 7 * S, message: 'h', state: 'CONFLICT', conflictType: 'HASH_MISMATCH' })])]);
    assert.deepEqual(changed.map((c) => [c.new_state, c.cause, c.meta.occurred_at]), [['QUARANTINED', 'CONTEXT_CORRUPTION', T0 + 7 * S]]);
  });

  it('given a CONFLICT while quarantined, then the hold extends to 60 s after it', () => {
    const hash = (t: number) => ackOf({ at: T0 + t * S, message: `h${t}`, state: 'CONFLICT', conflictType: 'HASH_MISMATCH' });
    // quarantined at 7 s (until 67 s); a conflict at 30 s moves the release to 90 s
    const { changed } = run([...hbs(beats(0, 1)), ...acksAt([hash(7), hash(30)]), ...hbs(beats(2, 18))]);
    assert.deepEqual(changed.map((c) => [c.new_state, c.meta.occurred_at]), [['QUARANTINED', T0 + 7 * S], ['ACTIVE', T0 + 90 * S]]);
  });

  it('given a quarantined agent that went silent, when the hold ends, then it is released to OFFLINE (its offline timer fired meanwhile, without an event)', () => {
    // agent-1 heartbeats at 0 and 5 s, then is quarantined at 6 s; agent-2 moves the watermark on
    const { fold, changed } = run([
      ...hbs(beats(0, 1)), ...acksAt([ackOf({ at: T0 + 6 * S, message: 'h', state: 'CONFLICT', conflictType: 'HASH_MISMATCH' })]),
      ...hbs(beats(2, 16, 'agent-2')),
    ]);
    const mine = changed.filter((c) => c.agent_id === 'agent-1');
    assert.deepEqual(mine.map((c) => [c.previous_state, c.new_state, c.cause, c.meta.occurred_at]), [
      ['ACTIVE', 'QUARANTINED', 'CONTEXT_CORRUPTION', T0 + 6 * S],
      ['QUARANTINED', 'OFFLINE', 'HEARTBEAT_TIMEOUT', T0 + 66 * S],
    ]);
    // 2 heartbeats + 1 ack + the offline timeout at 35 s
    assert.equal(fold.agents.get('agent-1')!.revision, 4);
  });
});

describe('impedance: ack checkpoints and hand-over', () => {
  it('given a quarantined agent, then its changelog entry restores it exactly (and is a valid event)', () => {
    const { fold } = run([...hbs(beats(0, 2)), ...acksAt([ackOf({ at: T0 + 11 * S, message: 'h', state: 'CONFLICT', conflictType: 'HASH_MISMATCH' }), ackOf({ at: T0 + 12 * S, message: 'm', lateMs: 600 })])]);
    const a = fold.agents.get('agent-1')!;
    const e = toImpedanceUpdated(a, 2, fold.acksAppliedThrough());
    assert.deepEqual(validateEvent(e), []);
    const back = roundTrip(e);
    assert.equal(back.acks_applied_through, 1);
    assert.deepEqual(fromImpedanceUpdated(back), a);
  });

  it('given acks held for an agent not heard from, then the checkpoint says to replay from the first of them, and a new owner replaying from there reaches the same agents', () => {
    const known = beats(0, 3, 'agent-1');
    const inputs: Input[] = [
      ...hbs(known.slice(0, 2)),
      { ack: ackOf({ agent: 'agent-1', at: T0 + 1 * S, message: 'a' }), offset: 0 },
      { ack: ackOf({ agent: 'agent-2', at: T0 + 2 * S, message: 'b', lateMs: 900 }), offset: 1 },
      { ack: ackOf({ agent: 'agent-1', at: T0 + 3 * S, message: 'c', lateMs: 900 }), offset: 2 },
    ];
    const live = run(inputs).fold;
    // then acks through offset 0 are in the entries; agent-2's (offset 1) is not
    assert.equal(live.acksAppliedThrough(), 0);
    const entries = [...live.agents.values()].map((a) => roundTrip(toImpedanceUpdated(a, 1, live.acksAppliedThrough())));
    // when a new owner restores them and replays acks from offset 1, then the rest of the input
    const owner = new PartitionFold();
    owner.restore(entries.map(fromImpedanceUpdated), 0);
    run(inputs.filter((x) => 'ack' in x && x.offset >= 1), owner);
    const rest: Input[] = [...hbs(known.slice(2)), ...hbs(beats(0, 1, 'agent-2'))];
    run(rest, owner);
    run(rest, live);
    // then both hold the same agents (agent-1's ack at offset 2 was not counted twice)
    assert.deepEqual([...owner.agents.entries()].sort(), [...live.agents.entries()].sort());
    assert.equal(owner.agents.get('agent-1')!.acks.count, 2);
    assert.equal(owner.agents.get('agent-2')!.acks.count, 1);
  });

  it('given a budget of 2 agents with held acks, when acks of a third agent never heard from come, then they are refused with the reason, and its heartbeat frees a slot', () => {
    const fold = new PartitionFold(2);
    const refusals = (acks: readonly AckReceived[], first: number) => acks.map((a, i) => fold.applyAck(a, first + i).refused);
    // given acks held for ghost-1 and ghost-2 (another of ghost-1's is still folded)
    assert.deepEqual(refusals([ackOf({ agent: 'ghost-1', message: 'a' }), ackOf({ agent: 'ghost-2', message: 'b' }), ackOf({ agent: 'ghost-1', message: 'c' })], 0), [undefined, undefined, undefined]);
    // when ghost-3 acks, then it is refused, naming the knob, and nothing of it is held
    const [why] = refusals([ackOf({ agent: 'ghost-3', message: 'd' })], 3);
    assert.match(why ?? '', /agent ghost-3 was never heard from, and the acks of 2 such agents already wait on this partition \(IMPEDANCE_MAX_PENDING_ACK_AGENTS\)/);
    assert.equal(fold.pendingAckAgents, 2);
    // when ghost-1 heartbeats, then its acks join it and ghost-3's next ack is held
    fold.apply(hb({ agent: 'ghost-1', at: T0, latency: 100, processing: 50 }));
    assert.equal(fold.agents.get('ghost-1')!.acks.count, 2);
    assert.deepEqual(refusals([ackOf({ agent: 'ghost-3', message: 'e' })], 4), [undefined]);
    assert.equal(fold.pendingAckAgents, 2);
  });

  it('given acks refused past the budget, when a new owner restores the checkpoint and replays the ack tail, then it refuses the same acks and holds the same ones', () => {
    const acks = Array.from({ length: 40 }, (_, i) => ackOf({ agent: `ghost-${i % 8}`, message: `m${i}`, at: T0 + i * S }));
    const live = new PartitionFold(5);
    live.apply(hb({ agent: 'agent-1', at: T0, latency: 100, processing: 50 }));
    const refused = acks.map((a, i) => live.applyAck(a, i).refused !== undefined);
    live.commit();
    // then ghosts 5..7 are refused every time, ghosts 0..4 held
    assert.deepEqual(refused.map((r, i) => (r ? i % 8 : -1)).filter((g) => g >= 0).sort(), Array.from({ length: 15 }, (_, i) => 5 + Math.floor(i / 5)));
    const entries = [...live.agents.values()].map((a) => roundTrip(toImpedanceUpdated(a, 0, live.acksAppliedThrough())));
    assert.equal(live.acksAppliedThrough(), -1);
    const owner = new PartitionFold(5);
    owner.restore(entries.map(fromImpedanceUpdated), live.acksAppliedThrough());
    const replayed = acks.map((a, i) => owner.applyAck(a, i).refused !== undefined);
    assert.deepEqual(replayed, refused);
    assert.equal(owner.pendingAckAgents, 5);
    // and each held ghost, met by its first heartbeat, has the same tally in both
    for (const f of [live, owner]) f.apply(hb({ agent: 'ghost-0', at: T0 + 60 * S, latency: 100, processing: 50 }));
    assert.deepEqual(owner.agents.get('ghost-0')!.acks, live.agents.get('ghost-0')!.acks);
    assert.equal(owner.agents.get('ghost-0')!.acks.count, 5);
  });

  it('given a batch of acks that did not commit, when rolled back, then agents, held acks and the ack checkpoint are as before', () => {
    const { fold } = run(hbs(beats(0, 1)));
    const before = new Map(fold.agents);
    fold.applyAck(ackOf({ message: 'x', state: 'CONFLICT', conflictType: 'HASH_MISMATCH', at: T0 + 6 * S }), 0);
    fold.applyAck(ackOf({ agent: 'nobody', message: 'y' }), 1);
    assert.equal(fold.agents.get('agent-1')!.state, 'QUARANTINED');
    assert.equal(fold.pendingAckAgents, 1);
    fold.rollback();
    assert.deepEqual(fold.agents, before);
    assert.equal(fold.pendingAckAgents, 0);
    assert.equal(fold.acksAppliedThrough(), -1);
  });
});
