import assert from 'node:assert/strict';
import pino from 'pino';
import type { AckReceived, HeartbeatReceived, ImpedanceUpdated } from '../../../schemas/generated/events';
import type { AgentState } from '../../../services/impedance/agent-fold';
import { tailAfter } from '../../../services/impedance/checkpointer';
import { impedanceProcessor, type ImpedanceProcessor } from '../../../services/impedance/processor';
import type { RegistryStore } from '../../../services/impedance/registry-store';
import type { Emit } from '../../../services/runtime/processor';
import { ackOf, hb, S, T0 } from './helpers';

const AGENTS = 10;
const id = (i: number) => `a${i}`;
const round = (r: number): HeartbeatReceived[] => Array.from({ length: AGENTS }, (_, i) => hb({ agent: id(i), at: T0 + r * 5 * S + i * 1000 }));
/** Acks of every agent for message `m` at event time `t` s: agent 0 CONFLICTs, odd agents are late. */
const acksFor = (m: number, t: number): AckReceived[] => Array.from({ length: AGENTS }, (_, i) =>
  ackOf({ agent: id(i), at: T0 + t * S + i * 1000, message: `m${m}`, state: i === 0 ? 'CONFLICT' : 'READY', lateMs: i % 2 === 1 ? 900 : 0 }));

function fakeStore(scheduled: Map<string, number> = new Map()) {
  const agents = new Map<string, AgentState>();
  const built = new Set<number>();
  const s = {
    agents,
    async writeAgents(p: number, xs: readonly AgentState[]) {
      // A copy, as Redis holds what was sent: the fold reuses states after their batch commits.
      for (const a of xs) if ((agents.get(a.agentId)?.revision ?? 0) <= a.revision) agents.set(a.agentId, structuredClone(a));
      return { built: built.has(p), applied: xs.length };
    },
    async markBuilt(p: number) { built.add(p); },
    async isBuilt(p: number) { return built.has(p); },
    async writeSummaries(xs: readonly AgentState[]) { return xs.length; },
    async writeWatermarks() {},
    async watermarks() { return []; },
    async scheduledArrival(m: string) { return scheduled.get(m) ?? null; },
  };
  return s as unknown as RegistryStore & { agents: Map<string, AgentState> };
}

interface Log { beats: HeartbeatReceived[]; acks: AckReceived[] }

function owner(log: Log, changelog: Emit[], store = fakeStore()): { proc: ImpedanceProcessor; store: typeof store } {
  const proc = impedanceProcessor({
    store, logger: pino({ level: 'silent' }), summaryPartition: 99, now: () => 0, checkpointMs: 0, caughtUpMs: 0,
    restore: async (ps) => {
      const latest = new Map<string, ImpedanceUpdated>();
      for (const e of changelog) if (e.event.type === 'ImpedanceUpdated') latest.set(e.key, e.event as unknown as ImpedanceUpdated);
      return new Map(ps.map((p) => [p, latest]));
    },
    readTail: async (_p, from, to) => log.beats.slice(Number(from), Number(to)),
    readAckTail: async (_p, from, to) => log.acks.slice(Number(from), Number(to)).map((ack, i) => ({ ack, offset: Number(from) + i })),
  });
  return { proc, store };
}

/** One batch of partition 0 of `topic`: records [from, to) of its log, committed. */
async function batch(o: { proc: ImpedanceProcessor }, log: Log, topic: 'beats' | 'acks', from: number, to: number, changelog?: Emit[]): Promise<Emit[]> {
  const records = topic === 'beats' ? log.beats : log.acks;
  const name = topic === 'beats' ? 'mesh.heartbeats' : 'mesh.agent-acks';
  const out: Emit[] = [];
  for (let i = from; i < to; i++) out.push(...(await o.proc.handle(records[i] as never, { topic: name, partition: 0, offset: String(i), timestampMs: 0, key: records[i]!.agent_id })));
  out.push(...(await o.proc.flush!()));
  o.proc.onCommitted!({ topic: name, partition: 0, lastOffset: String(to - 1) });
  changelog?.push(...out.filter((e) => e.topic === 'mesh.impedance'));
  return out;
}

describe('impedance processor: acks repartitioned by agent and folded (mesh.agent-acks)', () => {
  it('given an ack on mesh.acks without T, when handled, then it is copied to mesh.agent-acks keyed by agent with T from the schedule', async () => {
    const store = fakeStore(new Map([['m1', T0 + 100]]));
    const { proc } = owner({ beats: [], acks: [] }, [], store);
    const ack = ackOf({ agent: 'a7', message: 'm1', expected: null });
    const out = await proc.handle(ack as never, { topic: 'mesh.acks', partition: 3, offset: '0', timestampMs: 0, key: ack.meta.correlation_id });
    assert.deepEqual(out.map((e) => [e.topic, e.key]), [['mesh.agent-acks', 'a7']]);
    assert.equal((out[0]!.event as unknown as AckReceived).expected_arrival_at, T0 + 100);
  });

  it('given a checkpoint, then more committed heartbeats and acks, when a new owner takes over, then it replays both tails and holds the same agents (agent 0 quarantined)', async () => {
    const log: Log = { beats: [0, 1, 2, 3, 4, 5].flatMap(round), acks: [acksFor(1, 1), acksFor(2, 2), acksFor(3, 3), acksFor(4, 21)].flat() };
    const changelog: Emit[] = [];
    const a = owner(log, changelog);
    await a.proc.onAssigned!([{ topic: 'mesh.heartbeats', partition: 0 }, { topic: 'mesh.agent-acks', partition: 0 }]);
    // checkpointed: two rounds of heartbeats and one message's acks
    await batch(a, log, 'beats', 0, 20, changelog);
    await batch(a, log, 'acks', 0, 10, changelog);
    const cp = changelog.map((e) => e.event as unknown as ImpedanceUpdated).filter((e) => e.type === 'ImpedanceUpdated');
    assert.equal(tailAfter(cp, 'acks'), 10n);
    // committed after the last checkpoint the new owner sees: acks of two messages, two rounds
    const seen = [...changelog];
    await batch(a, log, 'acks', 10, 30);
    await batch(a, log, 'beats', 20, 40);
    // when b takes over and both go on with the same records
    const b = owner(log, seen);
    await b.proc.onAssigned!([{ topic: 'mesh.heartbeats', partition: 0 }, { topic: 'mesh.agent-acks', partition: 0 }]);
    for (const o of [a, b]) {
      await batch(o, log, 'beats', 40, 50);
      await batch(o, log, 'acks', 30, 40);
      await batch(o, log, 'beats', 50, 60);
    }
    // then b's fold equals a's, and agent 0 (three CONFLICTs in a row) was quarantined in both
    assert.deepEqual(b.proc.folds().get(0)!.agents, a.proc.folds().get(0)!.agents);
    const a0 = a.proc.folds().get(0)!.agents.get(id(0))!;
    assert.equal(a0.acks.count, 4);
    assert.equal(a0.acks.quarantinedAt, T0 + 3 * S);
    assert.equal(a0.state, 'QUARANTINED', 'the conflict at 21 s extends the hold past the last heartbeat (25 s)');
    // an odd agent: 6 heartbeats, acks 4 late -> R = 6 / 10
    assert.equal(a.proc.folds().get(0)!.agents.get(id(1))!.reliability, 6 / 10);
  });
});
