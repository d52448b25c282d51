import assert from 'node:assert/strict';
import { loadEventSchemas } from '../../../schemas/catalog';
import type { AckReceived, HeartbeatReceived, ImpedanceUpdated } from '../../../schemas/generated/events';
import { validateEvent } from '../../../schemas/validate';
import { foldHeartbeat, fromImpedanceUpdated, sameList, toImpedanceUpdated, type AgentState } from '../../../services/impedance/agent-fold';
import { PartitionFold } from '../../../services/impedance/partition-fold';
import { ackOf, close, hb, S, T0 } from './helpers';

function foldAll(...beats: ReturnType<typeof hb>[]): AgentState {
  let a: AgentState | undefined;
  for (const b of beats) a = foldHeartbeat(a, b)?.agent ?? a;
  return a!;
}

describe('impedance: the agent fold', () => {
  it('keeps rolling windows: p50 latency and processing, drift, queue, score', () => {
    // given four heartbeats 5 s apart with latencies 90/110 and processing 50, queue 2 at the last
    const a = foldAll(
      hb({ at: T0, latency: 90 }), hb({ at: T0 + 5 * S, latency: 110 }), hb({ at: T0 + 10 * S, latency: 90 }), hb({ at: T0 + 15 * S, latency: 110, queue: 2 }),
    );
    assert.equal(a.latencyMs, 90);
    assert.equal(a.processingMs, 50);
    close(a.drift, 0.1);
    assert.equal(a.reliability, 1);
    close(a.score, 114); // 45 + 50 * 1.2 + 0.1 * 90
    assert.equal(a.revision, 4);
    assert.equal(a.state, 'ACTIVE');
  });

  it('windows hold the last 12 heartbeats', () => {
    const beats = Array.from({ length: 15 }, (_, i) => hb({ at: T0 + i * 5 * S, latency: i }));
    const a = foldAll(...beats);
    assert.deepEqual(a.latencies, [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  });

  it('a heartbeat not newer than the last one is not counted again', () => {
    const a = foldAll(hb({ at: T0 }), hb({ at: T0 + 5 * S }));
    assert.equal(foldHeartbeat(a, hb({ at: T0 + 5 * S })), undefined);
    assert.equal(foldHeartbeat(a, hb({ at: T0 })), undefined);
  });

  it('misses lower reliability and raise the score', () => {
    // 17 s gap: 2 heartbeats missed -> R = 3 / 5
    const a = foldAll(hb({ at: T0, latency: 100 }), hb({ at: T0 + 5 * S, latency: 100 }), hb({ at: T0 + 22 * S, latency: 100 }));
    close(a.reliability, 0.6);
    close(a.score, (50 + 50) / 0.6);
  });

  it('an impedance spike over 2x the class nominal degrades the agent, and it recovers', () => {
    // class A nominal 16.25 -> threshold 32.5
    const first = foldHeartbeat(undefined, hb({ cls: 'CLASS_A_EDGE', latency: 12, processing: 10 }))!;
    assert.equal(first.agent.state, 'ACTIVE');
    assert.equal(first.changed, undefined, 'no state change on first sight');
    const slow = foldHeartbeat(first.agent, hb({ cls: 'CLASS_A_EDGE', at: T0 + 5 * S, latency: 12, processing: 100 }))!;
    // p50 of [10, 100] = 10: one slow sample is not yet a spike
    assert.equal(slow.agent.state, 'ACTIVE');
    const slower = foldHeartbeat(slow.agent, hb({ cls: 'CLASS_A_EDGE', at: T0 + 10 * S, latency: 12, processing: 100 }))!;
    assert.equal(slower.agent.state, 'DEGRADED');
    assert.equal(slower.changed?.cause, 'IMPEDANCE_SPIKE');
    assert.equal(slower.changed?.previous_state, 'ACTIVE');
    let a = slower.agent;
    let last;
    for (let i = 3; i < 6; i++) { last = foldHeartbeat(a, hb({ cls: 'CLASS_A_EDGE', at: T0 + i * 5 * S, latency: 12, processing: 10 }))!; a = last.agent; }
    assert.equal(a.state, 'ACTIVE');
  });

  it('changelog entries restore the fold exactly (and are valid events)', () => {
    const a = foldAll(hb({ at: T0, latency: 90 }), hb({ at: T0 + 5 * S, latency: 110 }), hb({ at: T0 + 22 * S, latency: 95, queue: 3 }));
    const e = toImpedanceUpdated(a);
    assert.deepEqual(validateEvent(e), []);
    const schema = loadEventSchemas().get('ImpedanceUpdated')!;
    const decoded = { ...(schema.type.fromBuffer(schema.type.toBuffer(e)) as object), type: 'ImpedanceUpdated' } as ImpedanceUpdated;
    const back = fromImpedanceUpdated(decoded);
    assert.deepEqual(back, a);
    const next = hb({ at: T0 + 27 * S, latency: 100 });
    assert.deepEqual(foldHeartbeat(back, next), foldHeartbeat(a, next));
  });
});

describe('impedance: offline after 30 s of event time', () => {
  it('fires exactly when the partition watermark reaches last heartbeat + 30 s', () => {
    const p = new PartitionFold();
    p.apply(hb({ agent: 'x', at: T0 }));
    assert.deepEqual(p.apply(hb({ agent: 'y', at: T0 + 29_999_999 })).changed, []);
    const { changed } = p.apply(hb({ agent: 'y', at: T0 + 30 * S }));
    assert.equal(changed.length, 1);
    assert.equal(changed[0]!.agent_id, 'x');
    assert.equal(changed[0]!.new_state, 'OFFLINE');
    assert.equal(changed[0]!.cause, 'HEARTBEAT_TIMEOUT');
    assert.equal(changed[0]!.meta.occurred_at, T0 + 30 * S);
    assert.equal(p.agents.get('x')!.state, 'OFFLINE');
    // when x is heard from again it resumes; the 31 s gap is 5 misses, R = 2/7, so its score
    // (50 + 50) / (2/7) = 350 is over class B's 200: back, but degraded
    const back = p.apply(hb({ agent: 'x', at: T0 + 31 * S }));
    assert.equal(back.changed[0]!.cause, 'HEARTBEAT_RESUMED');
    assert.equal(back.changed[0]!.new_state, 'DEGRADED');
    close(p.agents.get('x')!.reliability, 2 / 7);
    close(p.agents.get('x')!.score, 350);
  });

  it('a heartbeat moves the deadline; the same records give the same outputs in any batching', () => {
    const beats = [hb({ agent: 'x', at: T0 }), hb({ agent: 'x', at: T0 + 5 * S }), hb({ agent: 'y', at: T0 + 34 * S }), hb({ agent: 'y', at: T0 + 50 * S })];
    const run = (commitEvery: number) => {
      const p = new PartitionFold();
      const out: string[] = [];
      beats.forEach((b, i) => {
        for (const c of p.apply(b).changed) out.push(`${c.agent_id}:${c.new_state}@${c.meta.occurred_at - T0}`);
        if ((i + 1) % commitEvery === 0) p.commit();
      });
      return out;
    };
    assert.deepEqual(run(1), ['x:OFFLINE@35000000']);
    assert.deepEqual(run(3), run(1));
  });

  it('a rolled-back batch leaves no trace, timers included', () => {
    const p = new PartitionFold();
    p.apply(hb({ agent: 'x', at: T0 }));
    p.takeDirty();
    p.commit();
    // a batch that times x out and then aborts
    assert.equal(p.apply(hb({ agent: 'y', at: T0 + 40 * S })).changed.length, 1);
    p.rollback();
    assert.equal(p.agents.get('x')!.state, 'ACTIVE');
    assert.equal(p.agents.has('y'), false);
    assert.deepEqual(p.takeDirty(), []);
    // consumed again: the same decision at the same instant
    const again = p.apply(hb({ agent: 'y', at: T0 + 40 * S })).changed;
    assert.equal(again.length, 1);
    assert.equal(again[0]!.meta.occurred_at, T0 + 30 * S);
  });

  it('many heartbeats of one agent in a batch: the same agent as folding them one by one, and a rollback restores the state before the batch', () => {
    // given 200 heartbeats 20 s apart (misses in every gap; windows full after 12; reliability buckets older than an hour dropped), batched 7 at a time
    const beats = Array.from({ length: 200 }, (_, i) => hb({ agent: 'x', at: T0 + i * 20 * S, latency: 10 + ((i * 7) % 13), processing: 20 + i, queue: i % 3 }));
    const p = new PartitionFold();
    const committed: AgentState[] = [];
    beats.forEach((b, i) => {
      p.apply(b);
      if ((i + 1) % 7 === 0) { p.commit(); committed.push(structuredClone(p.agents.get('x')!)); }
    });
    assert.deepEqual(p.agents.get('x'), foldAll(...beats));
    // when a batch of 5 more is folded and rolled back, then the agent is the committed one, windows included
    const before = structuredClone(p.agents.get('x')!);
    p.commit();
    for (let i = 0; i < 5; i++) p.apply(hb({ agent: 'x', at: T0 + (4000 + i * 5) * S, latency: 500, processing: 900 }));
    assert.equal(p.agents.get('x')!.latencies.at(-1), 500);
    p.rollback();
    assert.deepEqual(p.agents.get('x'), before);
    assert.deepEqual(committed[1], foldAll(...beats.slice(0, 14)));
  });

  it('committed batches write over the states they replaced: the same agents as a fold that reuses none, acks, timers and a rollback included', () => {
    // given 6 agents heartbeating every 5 s for 40 rounds (a2 silent from round 10 to 20: it goes
    // offline and comes back; a1 quarantined by a HASH_MISMATCH ack and released), acks every third round
    type In = { hb: HeartbeatReceived } | { ack: AckReceived; offset: number };
    const inputs: In[] = [];
    let offset = 0;
    for (let r = 0; r < 40; r++) {
      for (let i = 0; i < 6; i++) {
        if (i === 2 && r >= 10 && r < 20) continue;
        inputs.push({ hb: hb({ agent: `a${i}`, at: T0 + r * 5 * S + i * 1000, latency: 50 + ((r * 7 + i * 3) % 40), processing: 20 + ((r + i) % 9), queue: r % 4, caps: r % 13 === 0 ? ['db', 'api'] : ['api', 'db'] }) });
      }
      if (r % 3 === 0) {
        inputs.push({ ack: ackOf({ agent: `a${r % 6}`, at: T0 + r * 5 * S + 2 * S, message: `m${r}`, lateMs: r % 2 ? 80 : 0 }), offset: offset++ });
      }
      if (r === 25) inputs.push({ ack: ackOf({ agent: 'a1', at: T0 + r * 5 * S + 3 * S, message: 'mq', state: 'CONFLICT', conflictType: 'HASH_MISMATCH' }), offset: offset++ });
    }
    const feed = (p: PartitionFold, x: In) => ('hb' in x ? p.apply(x.hb) : p.applyAck(x.ack, x.offset)).changed.map((c) => `${c.agent_id}:${c.new_state}@${c.meta.occurred_at - T0}`);
    // when one fold never commits (nothing is reused) and another commits every 5 records and rolls every fourth batch back before folding it again
    const reference = new PartitionFold();
    const expected = inputs.flatMap((x) => feed(reference, x));
    const reused = new PartitionFold();
    const got: string[] = [];
    const holder = new Map<AgentState, string>();
    let movedToAnotherAgent = 0;
    for (let b = 0; b * 5 < inputs.length; b++) {
      const batch = inputs.slice(b * 5, b * 5 + 5);
      if (b % 4 === 3) { for (const x of batch) feed(reused, x); reused.rollback(); }
      for (const x of batch) got.push(...feed(reused, x));
      reused.commit();
      for (const [id, a] of reused.agents) {
        if (holder.has(a) && holder.get(a) !== id) movedToAnotherAgent++;
        holder.set(a, id);
      }
    }
    // then the same state changes and the same agents, windows and buckets included
    assert.deepEqual(got, expected);
    assert.ok(expected.some((c) => c.startsWith('a2:OFFLINE')) && expected.some((c) => c.startsWith('a1:QUARANTINED')) && expected.some((c) => c.startsWith('a1:ACTIVE')), `the inputs exercise timers: ${expected.join(' ')}`);
    assert.deepEqual([...reused.agents.keys()].sort(), [...reference.agents.keys()].sort());
    for (const [id, a] of reference.agents) assert.deepEqual(reused.agents.get(id), a, id);
    // and the states were reused across agents, yet no two agents share an array
    assert.ok(movedToAnotherAgent > 0, 'no state was reused');
    const arrays = [...reused.agents.values()].flatMap((a) => [a.latencies, a.processings, a.buckets]);
    assert.equal(new Set(arrays).size, arrays.length);
  });

  it('capabilities are the same list in any order, duplicates counted', () => {
    assert.equal(sameList(['api', 'cache', 'db'], ['api', 'cache', 'db']), true);
    assert.equal(sameList(['api', 'cache', 'db'], ['db', 'api', 'cache']), true);
    assert.equal(sameList(['api', 'api', 'db'], ['api', 'db', 'db']), false);
    assert.equal(sameList(['api', 'cache', 'db'], ['api', 'db', 'db']), false);
    assert.equal(sameList(['api', 'cache'], ['cache', 'api', 'api']), false);
    const many = Array.from({ length: 10 }, (_, i) => `c${i}`);
    assert.equal(sameList(many, [...many].reverse()), true);
    assert.equal(sameList(many, [...many.slice(1), 'c1']), false);
    // and the fold keeps the stored (sorted) list when the order alone changed
    const a = foldAll(hb({ caps: ['db', 'api'] }));
    assert.equal(foldHeartbeat(a, hb({ at: T0 + 5 * S, caps: ['api', 'db'] }))!.agent.capabilities, a.capabilities);
  });

  it('summary ticks every 5 s of event time', () => {
    const p = new PartitionFold();
    assert.equal(p.apply(hb({ at: T0 + 1 * S })).tick, undefined);
    assert.equal(p.apply(hb({ at: T0 + 4 * S, agent: 'b' })).tick, undefined);
    assert.equal(p.apply(hb({ at: T0 + 5 * S, agent: 'c' })).tick, T0 + 5 * S);
    assert.equal(p.apply(hb({ at: T0 + 17 * S, agent: 'd' })).tick, T0 + 15 * S);
  });
});
