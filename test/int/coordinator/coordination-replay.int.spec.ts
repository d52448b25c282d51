// The coordinator's dispatch and gather replayed from its own input partitions (issue 15, DESIGN
// invariant 3): every MessageDispatched, DispatchCompleted and QuorumDecided the running service
// wrote equals the refold of mesh.schedules and mesh.acks byte for byte, an altered input is
// named as the divergence, and a coordinator killed -9 mid-load and restarted still equals it.
// With signatures verified, the report of an ack its agent signed naming another payload is also
// copied to mesh.agent-acks keyed by the agent: the copy equals its refold too, and a copy
// removed, changed or written twice is named.
import assert from 'node:assert/strict';
import type { ConflictReported, MessageDispatched, ScheduleComputed, ScheduleEntry, SolvermeshEvent } from '../../../schemas/generated/events';
import { readCoordinationLog, replayCoordination } from '../../../services/coordinator/coordination-log';
import { compareCoordination, type CoordinationLog } from '../../../services/coordinator/coordination-replay';
import { SEED_THRESHOLDS } from '../../../services/coordinator/quorum';
import { derivedEventId } from '../../../services/runtime/ids';
import { schemaValidator } from '../../../services/runtime/validation';
import { TestKafka, waitFor } from '../../support/kafka';
import { runCli } from '../../support/process';
import { ackOf } from '../../unit/impedance/helpers';
import { gatherInputs } from '../../support/gathers';
import { waitGroupStable } from '../../support/coordination';
import { childrenOfEachTest, startRun } from '../solver/support';

const MS = 1000;
const AGENTS = 8;
const RETENTION_MS = 600_000;
// The window's deadline comes 4 s after it: the spec's answers (counted by their arrival time, in the window) are written by then.
const ENV = { MESH_SIGNING: 'off', COORDINATOR_GATHER_GRACE_MS: '4000' };
const agent = (i: number) => `A${String(i).padStart(2, '0')}`;

/** A one-chunk schedule of AGENTS agents sending 200-500 ms before T = now + 3 s, with a 400 ms window and a ttl long enough for a restart. */
function schedule(n: number): ScheduleComputed {
  const nowUs = Date.now() * MS;
  const t = nowUs + 3000 * MS;
  const entries: ScheduleEntry[] = Array.from({ length: AGENTS }, (_, i) => {
    const lead = 200 + ((i * 37 + n * 11) % 300);
    const sendAt = t - lead * MS;
    return {
      agent_id: agent(i), status: 'SCHEDULED', lead_time_ms: lead, send_at: sendAt, expected_processing_ms: lead / 2, confidence: 0.5 + i / 20,
      skip_reason: null, available_ms: null, send_bucket_at: Math.floor(sendAt / 10_000) * 10_000, registry_position: null,
    };
  });
  return {
    type: 'ScheduleComputed',
    meta: { event_id: derivedEventId(`replay-sched-${n}`, String(nowUs)), correlation_id: `corr-${n}`, causation_id: null, occurred_at: nowUs, producer: 'impedance', sequence: null },
    message_id: `msg-${n}`, target_arrival_time: t, chunk_index: 0, chunk_count: 1, entries, refused_reason: null, restrictions_through: null,
    terms: { created_at: nowUs, ttl_ms: 60_000, arrival_window_ms: 400, minimum_response_rate: 0.9, priority: 2, payload_hash: '', trinary_expectation: 'READY' },
  };
}

/**
 * The agents' answers to what was dispatched: READY in the window, one CONFLICT in every fourth
 * coordination, and the last agent of every third silent (its gather closes at the deadline).
 */
async function answer(k: TestKafka, dispatched: readonly MessageDispatched[], answered: Set<string>): Promise<void> {
  const acks = [];
  for (const m of dispatched) {
    const id = `${m.meta.correlation_id}/${m.agent_id}`;
    const n = Number(m.meta.correlation_id.slice('corr-'.length));
    if (answered.has(id) || (n % 3 === 0 && m.agent_id === agent(AGENTS - 1))) continue;
    answered.add(id);
    const a = ackOf({ agent: m.agent_id, at: m.target_arrival_time - 5 * MS, message: m.message_id, state: n % 4 === 1 && m.agent_id === agent(2) ? 'CONFLICT' : 'READY' });
    acks.push({ key: m.meta.correlation_id, event: { ...a, meta: { ...a.meta, correlation_id: m.meta.correlation_id } } });
  }
  if (acks.length > 0) await k.sendEvents('mesh.acks', acks, { unsigned: true });
}

const logOptions = (k: TestKafka) => ({ brokers: k.brokers, codec: k.codec, topicPrefix: k.prefix, validate: schemaValidator(), groupId: `${k.prefix}solvermesh.coordinator`, retentionMs: RETENTION_MS });
const encodeFor = (k: TestKafka) => (topic: string, e: SolvermeshEvent) => k.codec.encode(k.prefix + topic, e);

/** Runs coordinations `from..to` to their decisions, the spec answering as the agents. */
async function coordinate(k: TestKafka, from: number, to: number, answered: Set<string>, between?: () => Promise<void>): Promise<void> {
  const scheds = Array.from({ length: to - from }, (_, i) => schedule(from + i));
  await k.sendEvents('mesh.schedules', scheds.map((s) => ({ key: s.meta.correlation_id, event: s })));
  const want = new Set(scheds.map((s) => s.meta.correlation_id));
  let stepped = false;
  await waitFor(async () => {
    const log = await readCoordinationLog(logOptions(k));
    const outs = [...log.outputs.values()].map((o) => o.event);
    await answer(k, outs.filter((e): e is MessageDispatched => e.type === 'MessageDispatched' && want.has(e.meta.correlation_id)), answered);
    const decided = outs.filter((e) => e.type === 'QuorumDecided' && want.has(e.meta.correlation_id)).length;
    if (!stepped && between && decided > 0) { stepped = true; await between(); }
    return decided === want.size;
  }, 60_000, `coordinations ${from}..${to - 1} decided`);
}

describe('coordinator: dispatch and quorum replayed from its own partitions, bit for bit', function () {
  this.timeout(120_000);
  let k: TestKafka;
  const children = childrenOfEachTest();
  const answered = new Set<string>();
  before(async () => { k = await TestKafka.create('coord-replay'); });
  after(async () => { await k?.close(); });

  it('given coordinations dispatched at their ticks and gathered (all answered, a conflict, a silent agent), then every output equals its refold byte for byte', async () => {
    children.push(startRun(k, ['coordinator'], ENV));
    await waitGroupStable(k, 'coordinator');
    await coordinate(k, 0, 12, answered);

    const r = await replayCoordination(logOptions(k));

    assert.equal(r.divergence, undefined, JSON.stringify(r.divergence));
    // 12 decisions, 12 summaries, and every agent sent the message: 8 each
    assert.ok(r.recorded >= 12 * (AGENTS + 2) && r.identical === r.recorded && r.unpositioned === 0, JSON.stringify(r));
    const log = await readCoordinationLog(logOptions(k));
    const closures = [...log.outputs.values()].flatMap((o) => (o.event.type === 'QuorumDecided' ? [o.event.closed_by ?? 'EARLY'] : []));
    assert.ok(closures.includes('WINDOW_CLOSED') && closures.includes('ALL_ANSWERED'), `closures: ${closures.join(',')}`);
    const ticks = [...log.schedules.values()].flat().filter((x) => x.event.type === 'DispatchDue').length;
    assert.ok(ticks >= 12, `ticks refolded: ${ticks}`);
    // and the CLI says so (exit 0)
    const cli = await runCli(['mesh', 'replay-coordination'], { ...process.env, TOPIC_PREFIX: k.prefix });
    assert.equal(cli.code, 0, `${cli.stdout}\n${cli.stderr}`);
    assert.match(cli.stdout, /^OK coordination: \d+ dispatch, quorum, payload-mismatch and cascade events identical byte for byte/);
  });

  it('given one schedule entry or one ack changed in the log, then the replay names the output it changes, its input position and field', async () => {
    const log = await readCoordinationLog(logOptions(k));
    const encode = encodeFor(k);
    const opts = { thresholds: SEED_THRESHOLDS, retentionUs: RETENTION_MS * MS, encode };
    // a schedule's lead time: the message of that agent carries another
    const [p, recs] = [...log.schedules].find(([, l]) => l.some((x) => x.event.type === 'ScheduleComputed'))!;
    const target = recs.find((x) => x.event.type === 'ScheduleComputed')!;
    const changed = recs.map((x) => (x !== target || x.event.type !== 'ScheduleComputed' ? x : {
      offset: x.offset, event: { ...x.event, entries: x.event.entries.map((e, i) => (i === 0 ? { ...e, lead_time_ms: e.lead_time_ms + 37 } : e)) },
    }));
    const r1 = await compareCoordination({ ...log, schedules: new Map(log.schedules).set(p, changed) } satisfies CoordinationLog, opts);
    assert.equal(r1.ok, false);
    const d1 = r1.divergence!;
    const sent = [...log.outputs.values()].find((o) => o.event.type === 'MessageDispatched' && o.event.meta.correlation_id === target.event.meta.correlation_id && o.event.agent_id === agent(0))!;
    assert.deepEqual([d1.kind, d1.type, d1.eventId, d1.field], ['differs', 'MessageDispatched', sent.event.meta.event_id, 'lead_time_ms']);
    assert.equal(d1.recomputed, (d1.recorded as number) + 37);
    assert.equal(d1.at, `mesh.schedules ${p}/${sent.event.applied_through!.offset}`);

    // an ack counted READY made CONFLICT: its coordination's decision is named
    // (one that came before its coordination's decision in the partition, so it was counted)
    const before = (l: CoordinationLog['acks'] extends ReadonlyMap<number, infer L> ? L : never) => l.find((x) => x.event.type === 'AckReceived' && x.event.state === 'READY' &&
      l.some((y) => y.offset > x.offset && y.event.type === 'QuorumDecided' && y.event.meta.correlation_id === x.event.meta.correlation_id));
    const [ap, acks] = [...log.acks].find(([, l]) => before(l) !== undefined)!;
    const ack = before(acks)!;
    const flipped = acks.map((x) => (x === ack && x.event.type === 'AckReceived' ? { offset: x.offset, event: { ...x.event, state: 'CONFLICT' as const } } : x));
    const r2 = await compareCoordination({ ...log, acks: new Map(log.acks).set(ap, flipped) }, opts);
    assert.equal(r2.ok, false);
    const d2 = r2.divergence!;
    assert.equal(d2.type, 'QuorumDecided');
    assert.equal(d2.eventId, derivedEventId(ack.event.meta.correlation_id, 'quorum-decided'));
    assert.match(d2.at, new RegExp(`^mesh\\.acks ${ap}/\\d+$`));
    assert.ok(d2.kind === 'differs' && d2.field !== undefined && d2.recorded !== d2.recomputed, JSON.stringify(d2));
  });
});

describe('coordinator: dispatch and quorum replayed bit for bit across a kill -9', function () {
  this.timeout(180_000);
  let k: TestKafka;
  const children = childrenOfEachTest();
  before(async () => { k = await TestKafka.create('coord-replay-kill'); });
  after(async () => { await k?.close(); });

  it('given the coordinator killed -9 while coordinations are dispatched and gathered, and restarted at once, then its outputs equal their refold byte for byte, none written twice', async () => {
    let svc = startRun(k, ['coordinator'], ENV);
    children.push(svc);
    await waitGroupStable(k, 'coordinator');
    const answered = new Set<string>();
    await coordinate(k, 0, 6, answered);
    // when it is killed at its first decision of the next load, and started again at once
    await coordinate(k, 6, 18, answered, async () => {
      svc.proc.kill('SIGKILL');
      await svc.exited;
      svc = startRun(k, ['coordinator'], ENV);
      children.push(svc);
    });

    const r = await replayCoordination(logOptions(k));

    assert.equal(r.divergence, undefined, JSON.stringify(r.divergence));
    assert.ok(r.recorded >= 18 * (AGENTS + 2) && r.identical === r.recorded, JSON.stringify(r));
    const log = await readCoordinationLog(logOptions(k));
    assert.equal([...log.outputs.values()].filter((o) => o.event.type === 'QuorumDecided').length, 18);
  });
});

describe('coordinator: the own-key copies of payload-mismatch reports replayed bit for bit', function () {
  this.timeout(120_000);
  let k: TestKafka;
  const children = childrenOfEachTest();
  before(async () => { k = await TestKafka.create('coord-replay-own-key'); });
  after(async () => { await k?.close(); });

  it('given signing required and an agent signing an ack that names another payload, then the report and its copy on mesh.agent-acks, keyed by the agent, equal their refold byte for byte; a copy removed, changed or written twice is named', async () => {
    children.push(startRun(k, ['coordinator'], { COORDINATOR_GATHER_GRACE_MS: '4000', MESH_SIGNING: 'required', KEYS_POLL_MS: '500' }));
    await waitGroupStable(k, 'coordinator');
    const nowUs = Date.now() * MS;
    const corr = `own-key-${nowUs}`;
    const [honest, liar] = [agent(0), agent(1)];
    const sent = 'sha256-of-what-was-sent';
    const inputs = gatherInputs(corr, [honest, liar], [[honest, 'READY', 0], [liar, 'READY', 10]], nowUs).map((e) => {
      if (e.type === 'DispatchCompleted') return { ...e, payload_hash: sent };
      if (e.type === 'AckReceived') return { ...e, payload_hash: e.agent_id === liar ? 'sha256-of-something-else' : sent };
      return e;
    });
    // signed as the agents would (their keys registered on mesh.agent-keys first)
    await k.sendEvents('mesh.acks', inputs.map((event) => ({ key: corr, event })));
    const options = { ...logOptions(k), signaturesVerified: true };
    // the copy is written in the transaction that writes the report
    await waitFor(async () => {
      const outs = [...(await readCoordinationLog(options)).outputs.values()].map((o) => o.event);
      return outs.some((e) => e.type === 'ConflictReported' && e.agent_id === liar) && outs.some((e) => e.type === 'QuorumDecided' && e.meta.correlation_id === corr);
    }, 60_000, 'the report written and the gather decided');

    const r = await replayCoordination(options);

    assert.equal(r.divergence, undefined, JSON.stringify(r.divergence));
    // the report, its copy, the decision
    assert.ok(r.copies === 1 && r.recorded === 3 && r.identical === r.recorded, JSON.stringify(r));
    const log = await readCoordinationLog(options);
    const copy = [...log.ownKeyCopies.values()][0]!;
    const report = log.outputs.get(copy.event.meta.event_id);
    assert.deepEqual([copy.key, report?.topic, (copy.event as ConflictReported).forgery?.own_key], [liar, 'mesh.conflicts', true]);
    const cli = await runCli(['mesh', 'replay-coordination'], { ...process.env, TOPIC_PREFIX: k.prefix, MESH_SIGNING: 'required' });
    assert.equal(cli.code, 0, `${cli.stdout}\n${cli.stderr}`);
    assert.match(cli.stdout, /^OK coordination: 3 dispatch, quorum, payload-mismatch and cascade events identical byte for byte \(.*3 recorded \(1 own-key copies on mesh\.agent-acks\)\)/);

    const opts = { thresholds: SEED_THRESHOLDS, retentionUs: RETENTION_MS * MS, encode: encodeFor(k), signaturesVerified: true };
    const id = copy.event.meta.event_id;
    const ackAt = `mesh.acks ${copy.event.applied_through!.partition}/${copy.event.applied_through!.offset}`;
    // removed: its ack is below the coordinator's committed offset, so it should have been written
    const copies = new Map(log.ownKeyCopies);
    copies.delete(id);
    const removed = await compareCoordination({ ...log, ownKeyCopies: copies }, opts);
    assert.deepEqual([removed.divergence?.kind, removed.divergence?.type, removed.divergence?.eventId, removed.divergence?.copiedTo, removed.divergence?.at],
      ['not recorded', 'ConflictReported', id, 'mesh.agent-acks', ackAt]);
    // changed: another hash quoted in the copy than the agent's ack named
    const changed = { ...(copy.event as ConflictReported), detail: { ...(copy.event as ConflictReported).detail, received_value: 'PAYLOAD_HASH_MISMATCH: another story' } };
    const altered = await compareCoordination({ ...log, ownKeyCopies: new Map(log.ownKeyCopies).set(id, { ...copy, event: changed, value: await k.codec.encode(k.topic('mesh.agent-acks'), changed) }) }, opts);
    assert.deepEqual([altered.divergence?.kind, altered.divergence?.copiedTo, altered.divergence?.at, altered.divergence?.field], ['differs', 'mesh.agent-acks', ackAt, 'detail.received_value']);
    // written twice
    const twice = await compareCoordination({ ...log, duplicates: [{ ...copy, offset: copy.offset + 1 }] }, opts);
    assert.deepEqual([twice.divergence?.kind, twice.divergence?.eventId, twice.divergence?.copiedTo], ['recorded twice', id, 'mesh.agent-acks']);
  });
});
