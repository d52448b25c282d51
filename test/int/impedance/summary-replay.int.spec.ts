// The impedance summaries (cluster, sector, mesh at SummaryDue / 5 s ticks) replayed from the log
// at the registry positions each names (services/impedance/summary-replay.ts), bit for bit.
import assert from 'node:assert/strict';
import type { AckReceived, HeartbeatReceived, MeshSummarized } from '../../../schemas/generated/events';
import { readSummaryLog, replaySummaries } from '../../../services/impedance/summary-log';
import { compareSummaries, summaryReplayLine } from '../../../services/impedance/summary-replay';
import { schemaValidator } from '../../../services/runtime/validation';
import { waitFor, type TestKafka } from '../../support/kafka';
import { ackOf, hb, S } from '../../unit/impedance/helpers';
import { childrenOfEachTest, startRun } from '../solver/support';
import { startImpedance, useImpedanceWorld, waitCaughtUp } from './support';

const AGENTS = 48;
const T = Math.floor(Date.now() / 5_000_000) * 5_000_000 * 1000;
const agent = (i: number) => `S00${i % 3}-C0${i % 6}-A${String(i).padStart(2, '0')}`;

/** Round r, 5 s of event time after the one before: agents 40.. fall silent after round 2 (offline 30 s later). */
function round(r: number): HeartbeatReceived[] {
  return Array.from({ length: AGENTS }, (_, i) => i).filter((i) => i < 40 || r <= 2).map((i) => hb({
    agent: agent(i), at: T + r * 5 * S + i * 1000, cluster: `S00${i % 3}-C0${i % 6}`, sector: `S00${i % 3}`,
    latency: 10 + ((i * 7 + r * 13) % 400), processing: 10 + ((i + r) % 5) * 30, queue: (i + r) % 3,
  }));
}

/** Conflicting acks of a few agents (their quarantine is folded from mesh.agent-acks). */
const conflicts = (r: number) => [1, 7, 13].map((i) => ackOf({ agent: agent(i), at: T + r * 5 * S + 200_000, message: `m-${r}-${i}`, state: 'CONFLICT' }));

const logOptions = (k: TestKafka) => ({ brokers: k.brokers, codec: k.codec, topicPrefix: k.prefix, validate: schemaValidator() });
const meshSummaries = async (k: TestKafka) => (await readSummaryLog(logOptions(k))).summaries.map((s) => s.event).filter((e): e is MeshSummarized => e.type === 'MeshSummarized');

/**
 * Acks for the prediction accuracy (seed 002 §11.1), by the round they are sent before. Round 1:
 * message p1 to agents 0..9, six arriving 20 ms off their prediction, three 120 ms, one CONFLICT
 * 30 ms off. Round 4: agent 0's p1 ack again (a duplicate), agent 10 saying TRANSIT then READY
 * 40 ms off for p2, and agent 11's ack of an hour and a half ago (outside every summary's hour).
 */
function accuracyAcks(r: number): AckReceived[] {
  const at = T + r * 5 * S + 100_000;
  if (r === 1) {
    return Array.from({ length: 10 }, (_, i) => ackOf({
      agent: agent(i), at: at + i * 1000, message: 'p1', state: i === 9 ? 'CONFLICT' : 'READY', lateMs: i < 6 ? 20 : i < 9 ? 120 : 30,
    }));
  }
  if (r === 4) {
    return [
      accuracyAcks(1)[0]!,
      ackOf({ agent: agent(10), at, message: 'p2', state: 'TRANSIT' }),
      ackOf({ agent: agent(10), at: at + 1000, message: 'p2', lateMs: 40 }),
      ackOf({ agent: agent(11), at: T - 90 * 60 * S, message: 'p0', lateMs: 10 }),
    ];
  }
  return [];
}
const meshTicks = async (k: TestKafka) => new Set((await readSummaryLog(logOptions(k))).summaries.filter((s) => s.event.type === 'MeshSummarized').map((s) => s.event.meta.occurred_at));

describe('impedance: summaries replayed from the log, bit for bit', function () {
  this.timeout(180_000);
  const w = useImpedanceWorld('summ-replay');

  it('given heartbeats, silent agents and conflicting acks over many ticks, then every summary equals its replay at the positions it names', async () => {
    // given the service, rounds of heartbeats 5 s of event time apart, some agents falling silent, acks quarantining others
    w.svc = await startImpedance(w.k, w.redisSrv.url);
    // (each round once the one before was summarised: a batch that crosses several ticks is summarised at the last)
    const rounds = 12;
    for (let r = 0; r < rounds; r++) {
      if (r % 3 === 1) await w.k.sendEvents('mesh.acks', conflicts(r).map((a) => ({ key: a.meta.correlation_id, event: a })));
      await w.k.sendEvents('mesh.heartbeats', round(r).map((e) => ({ key: e.agent_id, event: e })));
      if (r > 0) await waitFor(async () => (await meshTicks(w.k)).has(T + r * 5 * S), 60_000, `the tick of round ${r} summarised`);
    }

    // when the summaries are replayed from the log
    const r = await replaySummaries(logOptions(w.k));

    // then each was recomputed identical, from the partitions refolded to the positions it names
    assert.equal(r.divergence, undefined, summaryReplayLine(r));
    assert.ok(r.ticks >= rounds - 1 && r.identical === r.recorded && r.recomputed === r.recorded, JSON.stringify(r));
    const log = await readSummaryLog(logOptions(w.k));
    const positions = log.summaries.flatMap((s) => s.event.registry_positions ?? []);
    assert.ok(new Set(positions.map((p) => p.partition)).size >= 4, 'positions of most heartbeat partitions');
    assert.ok(positions.some((p) => p.acks_through >= 0), 'some summary read agents with acks folded');
    // and what they show moved: silent agents went offline, conflicting ones were quarantined
    const mesh = log.summaries.filter((s) => s.event.type === 'MeshSummarized').map((s) => s.event as { active_agents: number; total_agents: number });
    const active = mesh.map((m) => m.active_agents);
    assert.ok(Math.min(...active) < Math.max(...active) && mesh.every((m) => m.total_agents === AGENTS), JSON.stringify(active));
  });

  it('given one heartbeat changed in the log, then the replay names the first summary it changes, at its tick, and the field', async () => {
    const log = await readSummaryLog(logOptions(w.k));
    // agent 4's heartbeat of round 5, and the first summary read that folded it
    const target = agent(4);
    const p = [...log.heartbeats.entries()].find(([, xs]) => xs.some((x) => x.event.agent_id === target))![0];
    const changed = log.heartbeats.get(p)!.find((x) => x.event.agent_id === target && x.event.meta.occurred_at >= T + 5 * 5 * S)!;
    const first = log.summaries.find((s) => (s.event.registry_positions ?? []).some((x) => x.partition === p && x.heartbeats_through >= changed.offset));
    assert.ok(first, 'a summary read the changed heartbeat');

    // when its latency is another in the log the replay reads (the lowest of its samples: the median moves)
    const tampered = new Map(log.heartbeats);
    tampered.set(p, log.heartbeats.get(p)!.map((x) => (x === changed ? { offset: x.offset, event: { ...x.event, latency_ms: 1 } } : x)));
    const topic = w.k.prefix + 'mesh.summaries';
    const r = await compareSummaries({ ...log, heartbeats: tampered }, (e) => w.k.codec.encode(topic, e));

    // then it diverges at that tick, on the agent's cluster, naming the field and both values
    assert.equal(r.ok, false);
    const d = r.divergence!;
    assert.equal(d.kind, 'differs', summaryReplayLine(r));
    assert.equal(d.tick, first.event.meta.occurred_at);
    assert.equal(d.scope, `cluster:${changed.event.cluster_id}`);
    assert.match(d.field ?? '', /^(active_count|degraded_count|unstable_count|mean_impedance|p95_impedance|slowest_agent_id|fastest_agent_id)$/);
    assert.notDeepEqual(d.recorded, d.recomputed);
    assert.match(summaryReplayLine(r), new RegExp(`DIVERGED at tick ${d.tick} cluster:`));
  });
});

describe('impedance: summaries replayed bit for bit across a kill -9', function () {
  this.timeout(240_000);
  const w = useImpedanceWorld('summ-kill');
  const children = childrenOfEachTest();

  it('given the service killed -9 mid-load and restarted at once, then the summaries of both processes equal their replay byte for byte', async () => {
    // given the service as a process, small transactions, heartbeats and acks flowing
    const env = { REDIS_URL: w.redisSrv.url, IMPEDANCE_MAX_BATCH_RECORDS: '20', INSTANCE_ID: 'summ-kill' };
    let svc = startRun(w.k, ['impedance'], env);
    children.push(svc);
    const load = async (r: number) => {
      await w.k.sendEvents('mesh.heartbeats', round(r).map((e) => ({ key: e.agent_id, event: e })));
      await w.k.sendEvents('mesh.acks', conflicts(r).map((a) => ({ key: a.meta.correlation_id, event: a })));
    };
    for (let r = 0; r < 5; r++) await load(r);
    await waitFor(async () => (await meshTicks(w.k)).size >= 2, 90_000, 'summaries of the first process');

    // when it is killed -9 while the load goes on, and started again at once
    svc.proc.kill('SIGKILL');
    await svc.exited;
    svc = startRun(w.k, ['impedance'], env);
    children.push(svc);
    for (let r = 5; r < 11; r++) await load(r);

    // then the summaries of both processes equal their replay from the log
    // (a batch that crosses several ticks is summarised at the last: round 9's or a later one)
    await waitFor(async () => [...(await meshTicks(w.k))].some((t) => t >= T + 9 * 5 * S), 120_000, 'a tick of round 9 or later summarised');
    const r = await replaySummaries(logOptions(w.k));
    assert.equal(r.divergence, undefined, summaryReplayLine(r));
    assert.ok(r.identical === r.recorded && r.ticks >= 3, JSON.stringify(r));
    // (the conflicting acks were measured and counted: the accuracy fields were replayed too)
    const counted = (await meshSummaries(w.k)).filter((m) => m.prediction_samples > 0 && m.conflicts_last_hour > 0);
    assert.ok(counted.length >= 2, `${counted.length} summaries counted acks`);
  });
});

describe('impedance: the mesh summary\'s prediction accuracy replayed from the agent-ack fold', function () {
  this.timeout(180_000);
  const w = useImpedanceWorld('summ-acc');

  it('given acks within and outside 50 ms of their prediction, a duplicate, a CONFLICT, a TRANSIT then READY and one older than the hour, then every summary equals its replay, accuracy included', async () => {
    // given the service, rounds of heartbeats, and the acks sent before rounds 1 and 4
    w.svc = await startImpedance(w.k, w.redisSrv.url);
    const rounds = 9;
    for (let r = 0; r < rounds; r++) {
      const acks = accuracyAcks(r);
      if (acks.length > 0) await w.k.sendEvents('mesh.acks', acks.map((a) => ({ key: a.meta.correlation_id, event: a })));
      await w.k.sendEvents('mesh.heartbeats', round(r).map((e) => ({ key: e.agent_id, event: e })));
      if (r > 0) await waitFor(async () => (await meshTicks(w.k)).has(T + r * 5 * S), 60_000, `the tick of round ${r} summarised`);
    }
    // (the last acks are in the last summary's positions)
    await waitCaughtUp(w.k, 'mesh.agent-acks', 60_000, true);
    await w.k.sendEvents('mesh.heartbeats', round(rounds).map((e) => ({ key: e.agent_id, event: e })));
    await waitFor(async () => (await meshTicks(w.k)).has(T + rounds * 5 * S), 60_000, 'the tick of the last round summarised');

    // when the summaries are replayed from the log
    const r = await replaySummaries(logOptions(w.k));

    // then each was recomputed identical, the accuracy fields too
    assert.equal(r.divergence, undefined, summaryReplayLine(r));
    assert.ok(r.identical === r.recorded && r.ticks >= rounds - 1, JSON.stringify(r));
    // and the last counts each arrival once: the 10 of p1 (the duplicate not again) and p2's READY
    // (its TRANSIT is no arrival), not the ack older than the hour; 8 within 50 ms; one conflict
    const last = (await meshSummaries(w.k)).sort((a, b) => b.meta.occurred_at - a.meta.occurred_at)[0]!;
    assert.deepEqual(
      [last.prediction_samples, last.prediction_within_50ms, last.prediction_hit_rate, last.prediction_p90_error_ms, last.conflicts_last_hour],
      [11, 8, 8 / 11, 130, 1],
    );
  });

  it('given one ack\'s arrival changed in the log, then the replay names the first summary that counted it, at the accuracy field', async () => {
    const log = await readSummaryLog(logOptions(w.k));
    // agent 0's p1 ack (20 ms off), as first copied onto mesh.agent-acks
    const [p, acks] = [...log.acks.entries()].find(([, xs]) => xs.some((x) => x.event.type === 'AckReceived' && x.event.agent_id === agent(0)))!;
    const changed = acks.find((x) => x.event.type === 'AckReceived' && x.event.agent_id === agent(0) && x.event.message_id === 'p1')!;
    // (the first whose hour holds the ack: a tick just before a 5-minute bucket boundary does not)
    const bucket = (us: number) => Math.floor(us / 300_000_000);
    const first = log.summaries.find((s) => bucket(s.event.meta.occurred_at) >= bucket(changed.event.meta.occurred_at)
      && (s.event.registry_positions ?? []).some((x) => x.partition === p && x.acks_through >= changed.offset));
    assert.ok(first, 'a summary read the acks through the changed one');

    // when it arrived 80 ms off instead (still on time for the agent's reliability)
    const ack = changed.event as AckReceived;
    const tampered = new Map(log.acks);
    tampered.set(p, acks.map((x) => (x === changed ? { offset: x.offset, event: { ...ack, actual_arrival_at: ack.actual_arrival_at + 60_000 } } : x)));
    const topic = w.k.prefix + 'mesh.summaries';
    const r = await compareSummaries({ ...log, acks: tampered }, (e) => w.k.codec.encode(topic, e));

    // then the mesh summary of that tick differs at the arrivals within 50 ms, one fewer
    assert.equal(r.ok, false);
    const d = r.divergence!;
    assert.equal(d.kind, 'differs', summaryReplayLine(r));
    assert.deepEqual([d.tick, d.scope, d.field], [first.event.meta.occurred_at, 'mesh', 'prediction_within_50ms']);
    assert.equal((d.recorded as number) - (d.recomputed as number), 1);
  });
});
