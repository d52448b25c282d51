import assert from 'node:assert/strict';
import pino from 'pino';
import type { HeartbeatReceived, ImpedanceUpdated } from '../../../schemas/generated/events';
import type { AgentState } from '../../../services/impedance/agent-fold';
import { tailAfter } from '../../../services/impedance/checkpointer';
import { impedanceProcessor, type ImpedanceProcessor } from '../../../services/impedance/processor';
import { registryInterval } from '../../../services/impedance/registry-writer';
import type { RegistryStore } from '../../../services/impedance/registry-store';
import type { Emit } from '../../../services/runtime/processor';
import { ackOf, hb, S, T0 } from './helpers';

const AGENTS = 20;
const round = (r: number): HeartbeatReceived[] => Array.from({ length: AGENTS }, (_, i) => hb({
  agent: `a${String(i).padStart(2, '0')}`, at: T0 + r * 5 * S + i * 1000, latency: 10 + ((i * 7 + r * 13) % 40), queue: r % 3,
}));

/** A registry that keeps the last write per agent (revision-guarded like the Lua script). */
function fakeStore(): RegistryStore & { agents: Map<string, AgentState>; writes: number; summaries: Map<string, number>; summaryWrites: number } {
  const agents = new Map<string, AgentState>();
  const built = new Set<number>();
  const s = {
    agents,
    writes: 0,
    /** Last heartbeat of each agent's summary entry. */
    summaries: new Map<string, number>(),
    summaryWrites: 0,
    async writeSummaries(xs: readonly AgentState[]) {
      s.summaryWrites++;
      for (const a of xs) if ((s.summaries.get(a.agentId) ?? 0) <= a.lastHeartbeatAt) s.summaries.set(a.agentId, a.lastHeartbeatAt);
      return xs.length;
    },
    async writeAgents(p: number, xs: readonly AgentState[]) {
      s.writes++;
      for (const a of xs) {
        // A copy, as Redis holds what was sent: the fold reuses states after their batch commits.
        if ((agents.get(a.agentId)?.revision ?? 0) <= a.revision) agents.set(a.agentId, structuredClone(a));
        if ((s.summaries.get(a.agentId) ?? 0) <= a.lastHeartbeatAt) s.summaries.set(a.agentId, a.lastHeartbeatAt);
      }
      return { built: built.has(p), applied: xs.length };
    },
    async markBuilt(p: number) { built.add(p); },
    async writeWatermarks() {},
    async watermarks() { return []; },
    async isBuilt(p: number) { return built.has(p); },
  };
  return s as unknown as RegistryStore & { agents: Map<string, AgentState>; writes: number; summaries: Map<string, number>; summaryWrites: number };
}

interface Owner { proc: ImpedanceProcessor; store: ReturnType<typeof fakeStore>; clock: { t: number } }

function owner(log: HeartbeatReceived[], changelog: Emit[], store = fakeStore(), idleWriteMs = 0): Owner {
  const clock = { t: 0 };
  const proc = impedanceProcessor({
    store, logger: pino({ level: 'silent' }), summaryPartition: 99, now: () => clock.t,
    registryLagMs: 1000, checkpointMs: 10_000, caughtUpMs: 0, idleWriteMs,
    restore: async (ps) => {
      const latest = new Map<string, ImpedanceUpdated>();
      for (const e of changelog) if (e.event.type === 'ImpedanceUpdated') latest.set(e.key, e.event as unknown as ImpedanceUpdated);
      return new Map(ps.map((p) => [p, latest]));
    },
    readTail: async (_p, from, to) => log.slice(Number(from), Number(to)),
  });
  return { proc, store, clock };
}

/** The runner's punctuation at time `t` of the owner's clock, and the writes it started settled. */
async function punctuate(o: Owner, t: number): Promise<void> {
  o.clock.t = t;
  await o.proc.punctuation!.punctuate(t);
  await o.proc.drain();
}

/** Handles records [from, to) of `log` (written to Kafka at `writtenMs`) as one batch at time `t`; commits unless told otherwise. */
async function batch(o: Owner, log: HeartbeatReceived[], from: number, to: number, t: number, changelog: Emit[], commit = true, writtenMs = 0): Promise<Emit[]> {
  o.clock.t = t;
  const out: Emit[] = [];
  for (let i = from; i < to; i++) {
    out.push(...(await o.proc.handle(log[i] as never, { topic: 'mesh.heartbeats', partition: 0, offset: String(i), timestampMs: writtenMs, key: log[i]!.agent_id })));
  }
  out.push(...(await o.proc.flush!()));
  if (commit) {
    o.proc.onCommitted!({ topic: 'mesh.heartbeats', partition: 0, lastOffset: String(to - 1) });
    changelog.push(...out.filter((e) => e.topic === 'mesh.impedance'));
  } else await o.proc.onAbort!();
  return out;
}

const updates = (out: Emit[]) => out.filter((e) => e.event.type === 'ImpedanceUpdated').map((e) => e.event as unknown as ImpedanceUpdated);

describe('impedance: coalesced registry writes and changelog checkpoints', () => {
  it('writes the changelog only at checkpoints, each entry naming the heartbeat offset it covers', async () => {
    const log = [0, 1, 2, 3].flatMap(round);
    const changelog: Emit[] = [];
    const a = owner(log, changelog);
    await a.proc.onAssigned!([{ topic: 'mesh.heartbeats', partition: 0 }]);
    assert.equal(updates(await batch(a, log, 0, 20, 0, changelog)).length, 0);
    assert.equal(a.store.writes, 0, 'no registry write within registryLagMs');
    await batch(a, log, 20, 40, 1500, changelog);
    await a.proc.drain();
    assert.equal(a.store.agents.get('a00')?.revision, 2, 'the registry lags at most registryLagMs');
    const cp = updates(await batch(a, log, 40, 60, 10_500, changelog));
    assert.equal(cp.length, AGENTS);
    assert.ok(cp.every((u) => u.applied_through === 59 && u.meta.sequence === 3));
    assert.equal(tailAfter(cp, 'heartbeats'), 60n);
  });

  it('far behind the live edge, writes the registry every tenth of the backlog (at most once per checkpoint), not every registryLagMs', async () => {
    const log = [0, 1, 2].flatMap(round);
    const a = owner(log, []);
    await a.proc.onAssigned!([{ topic: 'mesh.heartbeats', partition: 0 }]);
    const minuteOld = (t: number) => t - 60_000;
    await batch(a, log, 0, 20, 0, [], true, minuteOld(0));
    await batch(a, log, 20, 40, 1500, [], true, minuteOld(1500));
    await a.proc.drain();
    assert.equal(a.store.writes, 0, 'a minute behind: no full write 1.5 s after the last one');
    assert.equal(a.store.summaryWrites, 1, 'but the summary entries, every registryLagMs');
    assert.equal(a.store.summaries.get('a00'), log[20]!.meta.occurred_at, 'as of the batch');
    await batch(a, log, 40, 60, 6500, [], true, minuteOld(6500));
    await a.proc.drain();
    assert.equal(a.store.writes, 1);
    assert.equal(a.store.agents.get('a00')?.revision, 3, 'written 6 s (a tenth of the minute) after the last write, with every heartbeat so far');
  });

  it('when the service goes quiet with unwritten changes (the end of a backlog), they are written idleWriteMs after its last batch', async () => {
    const log = round(0);
    const a = owner(log, [], fakeStore(), 20);
    await a.proc.onAssigned!([{ topic: 'mesh.heartbeats', partition: 0 }]);
    await batch(a, log, 0, 20, 1500, [], true, 1500 - 60_000);
    assert.equal(a.store.writes, 0, 'a minute behind: not written after the batch');
    await punctuate(a, 1510);
    assert.equal(a.store.writes, 0, 'not before idleWriteMs of quiet');
    await punctuate(a, 1530);
    assert.equal(a.store.writes, 1);
    assert.equal(a.proc.registryBacklog(), 0);
    assert.equal(a.store.agents.size, AGENTS);
    await a.proc.close();
  });

  it('a partition that gets no batch for a whole write interval is written while the others keep the service busy', async () => {
    const log = round(0);
    const a = owner(log, [], fakeStore(), 20);
    await a.proc.onAssigned!([{ topic: 'mesh.heartbeats', partition: 0 }, { topic: 'mesh.heartbeats', partition: 1 }]);
    const minuteOld = (t: number) => t - 60_000;
    // partition 0 once, partition 1 (agents of its own) every 10 ms of the clock from then on
    const handle = async (p: number, from: number, to: number, t: number) => {
      a.clock.t = t;
      for (let i = from; i < to; i++) await a.proc.handle(log[i] as never, { topic: 'mesh.heartbeats', partition: p, offset: String(i), timestampMs: minuteOld(t), key: log[i]!.agent_id });
      await a.proc.flush!();
      a.proc.onCommitted!({ topic: 'mesh.heartbeats', partition: p, lastOffset: String(to - 1) });
    };
    await handle(0, 0, 10, 0);
    const written = () => [...a.store.agents.keys()].filter((id) => log.findIndex((h) => h.agent_id === id) < 10).length;
    // the runner punctuates between batches
    for (let t = 10; t <= 5000; t += 10) { await handle(1, 10 + (t / 10) % 10, 11 + (t / 10) % 10, t); await punctuate(a, t); }
    assert.equal(written(), 0, 'partition 0 within its interval (a tenth of the minute behind): not written');
    for (let t = 5010; t <= 7000; t += 10) { await handle(1, 10 + (t / 10) % 10, 11 + (t / 10) % 10, t); await punctuate(a, t); }
    assert.equal(written(), 10, 'partition 0 written without a batch of its own once the interval passed');
    await a.proc.close();
  });

  it('given idleWriteMs, its idle writes are the runner\'s punctuation at that cadence (none with 0), not a timer of its own', () => {
    assert.equal(owner([], [], fakeStore(), 20).proc.punctuation?.everyMs, 20);
    assert.equal(owner([], []).proc.punctuation, undefined);
  });

  it('registry write interval: registryLagMs near the live edge, a tenth of the backlog behind it, capped by the checkpoint interval', () => {
    assert.equal(registryInterval(0, 1000, 10_000), 1000);
    assert.equal(registryInterval(4000, 1000, 10_000), 1000);
    assert.equal(registryInterval(60_000, 1000, 10_000), 6000);
    assert.equal(registryInterval(3_600_000, 1000, 10_000), 10_000);
    assert.equal(registryInterval(3_600_000, 1000, 0), 1000, 'checkpoints every batch: never below registryLagMs');
  });

  it('a new owner restores the last checkpoint, replays the heartbeats after it, and continues exactly like the old owner', async () => {
    const log = [0, 1, 2, 3, 4, 5, 6].flatMap(round);
    const changelog: Emit[] = [];
    const a = owner(log, changelog);
    await a.proc.onAssigned!([{ topic: 'mesh.heartbeats', partition: 0 }]);
    await batch(a, log, 0, 40, 0, changelog);
    await batch(a, log, 40, 60, 11_000, changelog); // checkpoint through 59
    await batch(a, log, 60, 100, 12_000, changelog); // committed, not in the changelog
    // the old owner goes on; a new one (a crash of the old one after offset 99) starts at 100
    const b = owner(log, [...changelog]);
    await b.proc.onAssigned!([{ topic: 'mesh.heartbeats', partition: 0 }]);
    const outA = await batch(a, log, 100, 140, 13_000, []);
    const outB = await batch(b, log, 100, 140, 13_000, []);
    assert.deepEqual(b.proc.folds().get(0)!.agents, a.proc.folds().get(0)!.agents);
    assert.deepEqual(outB.filter((e) => e.event.type === 'AgentStateChanged'), outA.filter((e) => e.event.type === 'AgentStateChanged'));
    // and its registry got every agent, tail included (the batch was past checkpointMs)
    for (const [id, st] of a.proc.folds().get(0)!.agents) assert.equal(b.store.agents.get(id)?.revision, st.revision, id);
  });

  it('a checkpoint whose transaction aborts is written again by the next one', async () => {
    const log = [0, 1, 2].flatMap(round);
    const changelog: Emit[] = [];
    const a = owner(log, changelog);
    await a.proc.onAssigned!([{ topic: 'mesh.heartbeats', partition: 0 }]);
    await batch(a, log, 0, 20, 0, changelog);
    assert.equal(updates(await batch(a, log, 20, 40, 11_000, changelog, false)).length, AGENTS, 'the aborted checkpoint');
    // consumed again
    const again = updates(await batch(a, log, 20, 40, 11_500, changelog));
    assert.equal(again.length, AGENTS);
    assert.ok(again.every((u) => u.meta.sequence === 2 && u.applied_through === 39));
    assert.equal(updates(await batch(a, log, 40, 60, 12_000, changelog)).length, 0, 'nothing until the next checkpoint');
  });

  // Found by the soak (seed 453593): four ImpedanceUpdated written twice, 0.14 s apart, identical,
  // in the transaction that carried the partition's heartbeats and then its agent-acks.
  it('given one transaction carrying two batches of a partition (the rdkafka engine commits a consume\'s batches together), when a checkpoint falls due in the first, then the second writes only what changed after it, never the same entry again', async () => {
    const log = [0, 1, 2].flatMap(round);
    const changelog: Emit[] = [];
    const a = owner(log, changelog);
    await a.proc.onAssigned!([{ topic: 'mesh.heartbeats', partition: 0 }, { topic: 'mesh.agent-acks', partition: 0 }]);
    await batch(a, log, 0, 20, 0, changelog);
    // The transaction: the heartbeats of round 1, then acks of the same partition, then its commit.
    a.clock.t = 11_000;
    const first: Emit[] = [];
    for (let i = 20; i < 40; i++) first.push(...(await a.proc.handle(log[i] as never, { topic: 'mesh.heartbeats', partition: 0, offset: String(i), timestampMs: 0, key: log[i]!.agent_id })));
    first.push(...(await a.proc.flush!()));
    const acks = [ackOf({ agent: 'a03', at: T0 + 6 * S }), ackOf({ agent: 'never-heard-of', at: T0 + 6 * S })];
    const second: Emit[] = [];
    for (const [i, ack] of acks.entries()) second.push(...(await a.proc.handle(ack as never, { topic: 'mesh.agent-acks', partition: 0, offset: String(i), timestampMs: 0, key: ack.agent_id })));
    second.push(...(await a.proc.flush!()));
    a.proc.onCommitted!({ topic: 'mesh.heartbeats', partition: 0, lastOffset: '39' });
    a.proc.onCommitted!({ topic: 'mesh.agent-acks', partition: 0, lastOffset: String(acks.length - 1) });
    changelog.push(...first, ...second);
    assert.equal(updates(first).length, AGENTS, 'the checkpoint in the first batch');
    assert.deepEqual(updates(second).map((u) => u.agent_id), ['a03'], 'the second: only the agent its ack changed');
    const ids = updates(changelog).map((u) => u.meta.event_id);
    assert.equal(new Set(ids).size, ids.length, 'no entry written twice');
    assert.equal(updates(await batch(a, log, 40, 60, 12_000, changelog)).length, 0, 'nothing owed until the next checkpoint');
  });

  it('a registry write that fails while behind is written again, and a checkpoint waits until it is', async () => {
    const log = [0, 1, 2].flatMap(round);
    const changelog: Emit[] = [];
    const store = fakeStore();
    const real = store.writeAgents.bind(store);
    let down = true;
    (store as { writeAgents: typeof real }).writeAgents = async (p, xs) => { if (down) throw new Error('redis down'); return real(p, xs); };
    const a = owner(log, changelog, store);
    await a.proc.onAssigned!([{ topic: 'mesh.heartbeats', partition: 0 }]);
    await batch(a, log, 0, 20, 1500, changelog); // the write fails in the background; the batch commits
    await a.proc.drain();
    assert.equal(store.agents.size, 0);
    await assert.rejects(batch(a, log, 20, 40, 11_000, changelog), /redis down/, 'a checkpoint cannot pass a missing write');
    await a.proc.onAbort!();
    down = false;
    const cp = updates(await batch(a, log, 20, 40, 11_500, changelog));
    assert.equal(cp.length, AGENTS);
    for (const u of cp) assert.equal(store.agents.get(u.agent_id)?.revision, u.meta.sequence, u.agent_id);
  });

  it('a quiet service writes again what a failed write left, once Redis is back, without a new batch', async () => {
    const log = round(0);
    const store = fakeStore();
    const real = store.writeAgents.bind(store);
    let down = true;
    let attempts = 0;
    (store as { writeAgents: typeof real }).writeAgents = async (p, xs) => { attempts++; if (down) throw new Error('redis down'); return real(p, xs); };
    const a = owner(log, [], store, 20);
    await a.proc.onAssigned!([{ topic: 'mesh.heartbeats', partition: 0 }]);
    await batch(a, log, 0, 20, 1500, [], true, 1500 - 60_000);
    // quiet from now on
    await punctuate(a, 1600);
    await punctuate(a, 1620);
    assert.ok(attempts >= 2, `retried while down (${attempts} attempts)`);
    assert.equal(store.agents.size, 0);
    assert.equal(a.proc.registryBacklog(), AGENTS, 'the failed agents are still owed');
    down = false;
    await punctuate(a, 1640);
    assert.equal(store.agents.size, AGENTS);
    assert.equal(a.proc.registryBacklog(), 0);
    await a.proc.close();
  });

  it('given a slow Redis, when later batches commit while writes are pending, then each write carries the agents as they were when it started (the fold reuses committed states)', async () => {
    const log = [0, 1, 2, 3, 4, 5].flatMap(round);
    const store = fakeStore();
    // Redis answers nothing until released; the fake keeps what each call was given (a copy, as Redis would).
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const sent: AgentState[][] = [];
    const real = store.writeAgents.bind(store);
    (store as { writeAgents: typeof real }).writeAgents = async (p, xs) => {
      sent.push(xs.map((a) => structuredClone(a)));
      await gate;
      return real(p, xs);
    };
    const a = owner(log, [], store);
    await a.proc.onAssigned!([{ topic: 'mesh.heartbeats', partition: 0 }]);
    // each batch is one round (every agent heartbeats once), 1.5 s apart at the live edge: a write per batch after the first
    for (let r = 0; r < 6; r++) await batch(a, log, r * AGENTS, (r + 1) * AGENTS, r * 1500, [], true, r * 1500);
    release();
    await a.proc.drain();
    assert.equal(sent.length, 5);
    sent.forEach((w, k) => {
      const r = k + 1;
      assert.deepEqual(w.map((x) => [x.agentId, x.revision, x.lastHeartbeatAt]), round(r).map((h) => [h.agent_id, r + 1, h.meta.occurred_at]), `write ${k + 1} holds round ${r}`);
    });
  });

  it('with no changelog at all the tail starts at the beginning; old entries without a checkpoint need none', () => {
    assert.equal(tailAfter([], 'heartbeats'), 0n);
    assert.equal(tailAfter([{ applied_through: null } as ImpedanceUpdated], 'heartbeats'), undefined);
    assert.equal(tailAfter([{ applied_through: null }, { applied_through: 7 }, { applied_through: 3 }] as ImpedanceUpdated[], 'heartbeats'), 8n);
  });
});
