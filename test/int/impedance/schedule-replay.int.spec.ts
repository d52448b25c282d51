import assert from 'node:assert/strict';
import type { AgentClass, CircuitStateChanged, CoordinationRequested, HeartbeatReceived } from '../../../schemas/generated/events';
import { readScheduleLog, replaySchedules } from '../../../services/impedance/schedule-log';
import { refolder } from '../../../services/impedance/schedule-refold';
import { compareSchedules } from '../../../services/impedance/schedule-replay';
import { derivedEventId } from '../../../services/runtime/ids';
import { schemaValidator } from '../../../services/runtime/validation';
import { waitFor, type TestKafka } from '../../support/kafka';
import { ackOf, hb, S } from '../../unit/impedance/helpers';
import { childrenOfEachTest, startRun } from '../solver/support';
import { startImpedance, useImpedanceWorld, waitCaughtUp } from './support';

const AGENTS = 40;
const ROUNDS = 6;
const CLASSES: AgentClass[] = ['CLASS_A_EDGE', 'CLASS_B_SERVERLESS', 'CLASS_C_PERSISTENT'];
const T = Math.floor(Date.now() / 5_000_000) * 5_000_000 * 1000;
const agent = (i: number) => `S00${i % 2}-C0${i % 4}-A${String(i).padStart(2, '0')}`;

function round(r: number): HeartbeatReceived[] {
  return Array.from({ length: AGENTS }, (_, i) => hb({
    agent: agent(i), at: T + r * 5 * S + i * 1000, cls: CLASSES[i % 3]!, cluster: `S00${i % 2}-C0${i % 4}`, sector: `S00${i % 2}`,
    latency: 10 + ((i * 7 + r * 13) % 40), processing: 10 + ((i + r) % 5) * 3, queue: (i + r) % 3, caps: i % 2 === 0 ? ['routing'] : ['api'],
  }));
}

function request(n: number, targets: string[], atUs: number): CoordinationRequested {
  return {
    type: 'CoordinationRequested',
    meta: { event_id: derivedEventId(`coord-${n}`, String(atUs)), correlation_id: `corr-${n}`, causation_id: null, occurred_at: atUs, producer: 'test', sequence: null },
    message_id: `msg-${n}`, source_agent_id: 'orchestrator', target_agent_ids: targets, routing_strategy: 'SCATTER_GATHER',
    target_arrival_time: atUs + 150_000, ttl_ms: 5000, arrival_window_ms: 500, minimum_response_rate: 0.95, priority: 2, payload_weight: n % 3,
    requires_capabilities: [], verb: 'ACT', payload: Buffer.from('go'), payload_hash: 'h', trinary_expectation: 'READY', applied_through: null,
  };
}

const opened = (atUs: number): CircuitStateChanged => ({
  type: 'CircuitStateChanged',
  meta: { event_id: derivedEventId('breaker', String(atUs)), correlation_id: 'CLUSTER:S001-C01', causation_id: null, occurred_at: atUs, producer: 'test', sequence: null },
  scope: 'CLUSTER', scope_id: 'S001-C01', previous_state: 'CLOSED', new_state: 'OPEN', failure_count: 5, failure_threshold: 5, reason: 'test',
  next_probe_at: null, incident_detected_at: null, recovery_time_us: null,
});

const logOptions = (k: TestKafka) => ({ brokers: k.brokers, codec: k.codec, topicPrefix: k.prefix, validate: schemaValidator(), groupId: `${k.prefix}solvermesh.impedance` });

describe('impedance: schedules replayed from the log, bit for bit', function () {
  this.timeout(180_000);
  const w = useImpedanceWorld('sched-replay');
  let requests = 0;

  it('given heartbeats, a breaker and requests interleaved, then every schedule equals its replay byte for byte', async () => {
    // given the service, and rounds of heartbeats with requests sent among them (no wait: each
    // schedule reads the registry wherever its writes are), a cluster breaker opened midway
    w.svc = await startImpedance(w.k, w.redisSrv.url);
    for (let r = 0; r < ROUNDS; r++) {
      await w.k.sendEvents('mesh.heartbeats', round(r).map((e) => ({ key: e.agent_id, event: e })));
      if (r === 3) await w.k.sendEvents('mesh.circuits', [{ key: 'CLUSTER:S001-C01', event: opened(T + r * 5 * S) }]);
      const at = T + r * 5 * S + 500_000;
      const reqs = [request(requests++, ['cluster:S000-C00', 'class:B', agent(3), 'ghost'], at), request(requests++, [agent(2), agent(5), agent(9)], at + 1000)];
      await w.k.sendEvents('mesh.coordination', reqs.map((q) => ({ key: q.meta.correlation_id, event: q })));
    }
    await waitFor(async () => (await readScheduleLog(logOptions(w.k))).requests.length === requests, 60_000, 'every request read back');
    await waitFor(async () => (await replaySchedules(logOptions(w.k))).requests === requests, 60_000, 'every request answered');

    // when the schedules are replayed from the log
    const r = await replaySchedules(logOptions(w.k));

    // then each was recomputed identical, from agents refolded to the positions its entries name
    assert.equal(r.divergence, undefined, JSON.stringify(r.divergence));
    assert.equal(r.requests, requests);
    assert.ok(r.recorded >= requests && r.identical === r.recorded && r.recomputed === r.recorded, JSON.stringify(r));
    assert.ok(r.positioned > requests * 3, `entries refolded to their positions: ${r.positioned}`);
    // and the breaker is among what they obeyed: the later schedules skip its cluster
    const log = await readScheduleLog(logOptions(w.k));
    const skipped = [...log.chunks.values()].flatMap((c) => c.event.entries).filter((e) => e.skip_reason === 'CIRCUIT_OPEN');
    assert.ok(skipped.length > 0, 'some agent skipped behind the OPEN breaker');
  });

  it('given one heartbeat changed in the log, then the replay names the first schedule it changes, and the field', async () => {
    const log = await readScheduleLog(logOptions(w.k));
    // the first schedule (in request order) whose times depend on agent 2, and its last heartbeat before it
    const target = agent(2);
    const used = log.requests.flatMap((q) => [...log.chunks.values()].filter((c) => c.event.meta.causation_id === q.req.meta.event_id)
      .flatMap((c) => c.event.entries.filter((e) => e.agent_id === target && e.lead_time_ms > 0 && e.registry_position).map((e) => ({ q, e }))));
    assert.ok(used.length > 0, 'agent 2 was scheduled');
    const first = used[0]!;
    const p = first.e.registry_position!.partition;
    const changed = log.heartbeats.get(p)!.filter((x) => x.event.agent_id === target && x.offset <= first.e.registry_position!.heartbeats_through).at(-1)!;

    // when its latency is another in the log the replay reads
    const tampered = new Map(log.heartbeats);
    tampered.set(p, log.heartbeats.get(p)!.map((x) => (x === changed ? { offset: x.offset, event: { ...x.event, latency_ms: x.event.latency_ms + 37 } } : x)));
    const topic = w.k.prefix + 'mesh.schedules';
    const r = await compareSchedules({ ...log, heartbeats: tampered }, refolder(tampered, log.acks), (e) => w.k.codec.encode(topic, e));

    // then it diverges at that schedule, on a field of an entry, naming the request's position
    assert.equal(r.ok, false);
    const d = r.divergence!;
    assert.equal(d.kind, 'differs');
    assert.equal(d.requestId, first.q.req.meta.event_id);
    assert.equal(d.at, `mesh.coordination ${first.q.partition}/${first.q.offset}`);
    assert.match(d.field ?? '', /^entries\[\d+\]\.(lead_time_ms|send_at|confidence|expected_processing_ms|send_bucket_at)$/);
    assert.notDeepEqual(d.recorded, d.recomputed);
  });
});

describe('impedance: schedules replayed bit for bit across a kill -9', function () {
  this.timeout(240_000);
  const w = useImpedanceWorld('sched-kill');
  const children = childrenOfEachTest();

  it('given the service killed -9 mid-load and restarted at once, then the schedules of both processes equal their replay byte for byte', async () => {
    // given the service as a process, small transactions, heartbeats, acks and requests flowing
    const env = { REDIS_URL: w.redisSrv.url, IMPEDANCE_MAX_BATCH_RECORDS: '50', INSTANCE_ID: 'sched-kill' };
    let svc = startRun(w.k, ['impedance'], env);
    children.push(svc);
    let sent = 0;
    const load = async (r: number, acksFirst = false) => {
      await w.k.sendEvents('mesh.heartbeats', round(r).map((e) => ({ key: e.agent_id, event: e })));
      const acks = [0, 2, 4, 6].map((i) => ackOf({ agent: agent(i), at: T + r * 5 * S + 200_000, message: `m-${r}`, lateMs: 10 + i }));
      await w.k.sendEvents('mesh.acks', acks.map((a) => ({ key: a.meta.correlation_id, event: a })));
      // Sent at once, requests overtake the acks' copies onto mesh.agent-acks: some wait for them to be folded.
      if (acksFirst) { await waitCaughtUp(w.k, 'mesh.acks', 90_000); await waitCaughtUp(w.k, 'mesh.agent-acks', 90_000, true); }
      const at = T + r * 5 * S + 300_000;
      const reqs = [request(100 + sent++, ['cluster:S000-C02', agent(2), agent(4)], at), request(100 + sent++, ['class:C', agent(6)], at + 1000)];
      await w.k.sendEvents('mesh.coordination', reqs.map((q) => ({ key: q.meta.correlation_id, event: q })));
    };
    for (let r = 0; r < 4; r++) await load(r);
    await w.k.collect('mesh.schedules', (rs) => rs.length >= 2, 90_000);

    // when it is killed -9 while the load goes on, and started again at once
    svc.proc.kill('SIGKILL');
    await svc.exited;
    svc = startRun(w.k, ['impedance'], env);
    children.push(svc);
    for (let r = 4; r < 9; r++) await load(r, r >= 7);

    // then every request is answered once, and each schedule equals its replay from the log
    await waitFor(async () => (await replaySchedules(logOptions(w.k))).requests === sent, 120_000, `all ${sent} requests answered`);
    const r = await replaySchedules(logOptions(w.k));
    assert.equal(r.divergence, undefined, JSON.stringify(r.divergence));
    assert.ok(r.identical === r.recorded && r.recorded >= sent, JSON.stringify(r));
    assert.ok(r.positioned >= sent * 2, `entries refolded to their positions: ${r.positioned}`);
    // and the acks were folded into what some schedules read (positions past the first agent-ack)
    const log = await readScheduleLog(logOptions(w.k));
    assert.ok([...log.chunks.values()].some((c) => c.event.entries.some((e) => (e.registry_position?.acks_through ?? -1) >= 0)), 'a schedule read an agent with acks folded');
  });
});
