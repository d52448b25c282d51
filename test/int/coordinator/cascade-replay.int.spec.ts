// The coordinator's cascades and payload-mismatch reports replayed from its own input partitions
// (issue 15, DESIGN invariant 3): a two-stage wave run through the running coordinator (the spec
// schedules each stage request as the impedance service would, and answers as the agents, one ack
// naming another payload than the one sent), then every stage decision copy, stage request,
// cascade end and the mismatch report equals the refold of mesh.acks and mesh.cascades byte for
// byte, and an altered input is named as the divergence.
import assert from 'node:assert/strict';
import type { AckReceived, CascadeRequested, CascadeStageDecided, CoordinationRequested, MessageDispatched, ScheduleComputed, ScheduleEntry } from '../../../schemas/generated/events';
import { stageCorrelationId } from '../../../services/coordinator/cascade';
import { readCoordinationLog, replayCoordination } from '../../../services/coordinator/coordination-log';
import { compareCoordination, type CoordinationLog } from '../../../services/coordinator/coordination-replay';
import { SEED_THRESHOLDS } from '../../../services/coordinator/quorum';
import { derivedEventId } from '../../../services/runtime/ids';
import { schemaValidator } from '../../../services/runtime/validation';
import { TestKafka, waitFor } from '../../support/kafka';
import { waitGroupStable } from '../../support/coordination';
import { ackOf } from '../../unit/impedance/helpers';
import { childrenOfEachTest, startRun } from '../solver/support';

const MS = 1000;
const AGENTS = 6;
const RETENTION_MS = 600_000;
const ENV = { MESH_SIGNING: 'off', COORDINATOR_GATHER_GRACE_MS: '4000' };
const agent = (i: number) => `A${String(i).padStart(2, '0')}`;
const FORGER = agent(3);

/** The schedule the impedance service would answer a stage request with: every target sending 200-450 ms before T. */
function scheduleOf(req: CoordinationRequested): ScheduleComputed {
  const t = req.target_arrival_time;
  const entries: ScheduleEntry[] = req.target_agent_ids.map((agent_id, i) => {
    const lead = 200 + i * 50;
    const sendAt = t - lead * MS;
    return {
      agent_id, status: 'SCHEDULED', lead_time_ms: lead, send_at: sendAt, expected_processing_ms: lead / 2, confidence: 0.6,
      skip_reason: null, available_ms: null, send_bucket_at: Math.floor(sendAt / 10_000) * 10_000, registry_position: null,
    };
  });
  return {
    type: 'ScheduleComputed',
    meta: { event_id: derivedEventId(req.meta.event_id, 'spec-schedule'), correlation_id: req.meta.correlation_id, causation_id: req.meta.event_id, occurred_at: req.meta.occurred_at, producer: 'impedance', sequence: null },
    message_id: req.message_id, target_arrival_time: t, chunk_index: 0, chunk_count: 1, entries, refused_reason: null, restrictions_through: null,
    terms: {
      created_at: req.meta.occurred_at, ttl_ms: 60_000, arrival_window_ms: req.arrival_window_ms, minimum_response_rate: req.minimum_response_rate, priority: req.priority,
      payload_hash: req.payload_hash, trinary_expectation: 'READY',
    },
  };
}

/** An agent's READY answer in the window, naming `hash`. */
function answerOf(m: MessageDispatched, hash: string, tag = ''): AckReceived {
  const a = ackOf({ agent: m.agent_id, at: m.target_arrival_time - 5 * MS, message: m.message_id });
  return { ...a, meta: { ...a.meta, event_id: derivedEventId(a.meta.event_id, `spec${tag}`), correlation_id: m.meta.correlation_id }, payload_hash: hash };
}

const logOptions = (k: TestKafka) => ({ brokers: k.brokers, codec: k.codec, topicPrefix: k.prefix, validate: schemaValidator(), groupId: `${k.prefix}solvermesh.coordinator`, retentionMs: RETENTION_MS });

describe('coordinator: cascades and payload-mismatch reports replayed from its own partitions, bit for bit', function () {
  this.timeout(180_000);
  let k: TestKafka;
  const children = childrenOfEachTest();
  const cascadeId = `cascade-${Date.now()}`;
  before(async () => { k = await TestKafka.create('casc-replay'); });
  after(async () => { await k?.close(); });

  it('given a two-stage wave run through the coordinator, one ack of its first stage naming another payload, then its copies, requests, end and the report equal their refold byte for byte', async () => {
    children.push(startRun(k, ['coordinator'], ENV));
    await waitGroupStable(k, 'coordinator');
    const targets = Array.from({ length: AGENTS }, (_, i) => agent(i));
    const stage = (label: string) => ({ label, targets, priority: 0, lead_ms: 3000, arrival_window_ms: 400, minimum_response_rate: 0.9, timeout_ms: 30_000 });
    const request: CascadeRequested = {
      type: 'CascadeRequested',
      meta: { event_id: derivedEventId(cascadeId, 'spec-request'), correlation_id: cascadeId, causation_id: null, occurred_at: Date.now() * MS, producer: 'spec', sequence: null },
      strategy: 'WAVE', stages: [stage('leads'), stage('agents')], payload_weight: 0, priority: 2, source_agent_id: 'orchestrator',
    };
    await k.sendEvents('mesh.cascades', [{ key: cascadeId, event: request }], { unsigned: true });

    // the spec as the impedance service (a schedule per stage request) and as the agents (an answer per message)
    const scheduled = new Set<string>();
    const answered = new Set<string>();
    await waitFor(async () => {
      const outs = [...(await readCoordinationLog(logOptions(k))).outputs.values()].map((o) => o.event);
      const reqs = outs.filter((e): e is CoordinationRequested => e.type === 'CoordinationRequested' && !scheduled.has(e.meta.correlation_id));
      for (const r of reqs) scheduled.add(r.meta.correlation_id);
      if (reqs.length > 0) await k.sendEvents('mesh.schedules', reqs.map((r) => ({ key: r.meta.correlation_id, event: scheduleOf(r) })), { unsigned: true });
      const acks = outs.filter((e): e is MessageDispatched => e.type === 'MessageDispatched' && !answered.has(`${e.meta.correlation_id}/${e.agent_id}`)).flatMap((m) => {
        answered.add(`${m.meta.correlation_id}/${m.agent_id}`);
        const forged = m.meta.correlation_id === stageCorrelationId(cascadeId, 0) && m.agent_id === FORGER ? [answerOf(m, 'another-payload', '-forged')] : [];
        return [...forged, answerOf(m, m.payload_hash)].map((event) => ({ key: m.meta.correlation_id, event }));
      });
      if (acks.length > 0) await k.sendEvents('mesh.acks', acks, { unsigned: true });
      return outs.some((e) => e.type === 'CascadeCompleted' && e.meta.correlation_id === cascadeId);
    }, 120_000, 'the cascade completed');

    const r = await replayCoordination(logOptions(k));

    assert.equal(r.divergence, undefined, JSON.stringify(r.divergence));
    assert.ok(r.identical === r.recorded && r.unpositioned === 0, JSON.stringify(r));
    const log = await readCoordinationLog(logOptions(k));
    const count = (type: string) => [...log.outputs.values()].filter((o) => o.event.type === type).length;
    // compared: the report, both copies, both stage requests and the end (with both decisions, the sends and summaries)
    assert.deepEqual(['ConflictReported', 'CascadeStageDecided', 'CoordinationRequested', 'CascadeCompleted', 'QuorumDecided'].map(count), [1, 2, 2, 1, 2]);
    // the coordinator held the cascade's partition: each copy was stepped in the transaction that wrote it
    assert.ok([...log.outputs.values()].some((o) => o.event.type === 'CascadeStageDecided' && o.event.stepped === true), 'a copy stepped when written');
    const done = [...log.outputs.values()].map((o) => o.event).find((e) => e.type === 'CascadeCompleted')!;
    assert.ok(done.type === 'CascadeCompleted' && done.status === 'SUCCESS', JSON.stringify(done));

    // an altered input is named: the forged ack's hash (the report), the second copy's count (the end)
    const opts = { thresholds: SEED_THRESHOLDS, retentionUs: RETENTION_MS * MS, encode: (topic: string, e: Parameters<typeof k.codec.encode>[1]) => k.codec.encode(k.prefix + topic, e) };
    const [ap, acks] = [...log.acks].find(([, l]) => l.some((x) => x.event.type === 'AckReceived' && x.event.payload_hash === 'another-payload'))!;
    const changedAcks = acks.map((x) => (x.event.type === 'AckReceived' && x.event.payload_hash === 'another-payload' ? { offset: x.offset, event: { ...x.event, payload_hash: 'a-third-payload' } } : x));
    const r1 = await compareCoordination({ ...log, acks: new Map(log.acks).set(ap, changedAcks) } satisfies CoordinationLog, opts);
    assert.deepEqual([r1.divergence?.kind, r1.divergence?.type, r1.divergence?.field], ['differs', 'ConflictReported', 'detail.received_value'], JSON.stringify(r1.divergence));
    const [cp, cascades] = [...log.cascades!].find(([, l]) => l.some((x) => x.event.meta.correlation_id === cascadeId))!;
    const changed = cascades.map((x) => (x.event.type === 'CascadeStageDecided' && x.event.stage_index === 1 ? { offset: x.offset, event: { ...x.event, ready_count: x.event.ready_count - 1 } } : x));
    const r2 = await compareCoordination({ ...log, cascades: new Map(log.cascades).set(cp, changed) }, opts);
    assert.deepEqual([r2.divergence?.kind, r2.divergence?.type, r2.divergence?.field], ['differs', 'CascadeCompleted', 'stages[1].ready_count'], JSON.stringify(r2.divergence));
    assert.match(r2.divergence!.at, new RegExp(`^mesh\\.cascades ${cp}/\\d+$`));
  });
});

describe('coordinator: a copy stepped when written is folded, not stepped again, when read back by a state restored to before it', function () {
  this.timeout(120_000);
  let k: TestKafka;
  const children = childrenOfEachTest();
  before(async () => { k = await TestKafka.create('casc-stepped'); });
  after(async () => { await k?.close(); });

  // A coordinator killed (or aborted) after the transaction that wrote a copy and its outputs, and
  // before the copy was read back, restores the cascade's partition to before the copy: reading it
  // then finds the stage still awaited, as this spec's coordinator does for a copy it never stepped.
  it('given a stage copy marked stepped landing on a cascade whose stage is awaited, then no stage request is written again, and the next copy ends the cascade', async () => {
    children.push(startRun(k, ['coordinator'], ENV));
    await waitGroupStable(k, 'coordinator');
    const id = `cascade-stepped-${Date.now()}`;
    const stage = (label: string) => ({ label, targets: [agent(0), agent(1)], priority: 0, lead_ms: 3000, arrival_window_ms: 400, minimum_response_rate: 0.9, timeout_ms: 60_000 });
    const at = Date.now() * MS;
    const request: CascadeRequested = {
      type: 'CascadeRequested', meta: { event_id: derivedEventId(id, 'spec-request'), correlation_id: id, causation_id: null, occurred_at: at, producer: 'spec', sequence: null },
      strategy: 'WAVE', stages: [stage('leads'), stage('agents')], payload_weight: 0, priority: 2, source_agent_id: 'orchestrator',
    };
    const copy = (index: number, stepped: boolean | null): CascadeStageDecided => ({
      type: 'CascadeStageDecided', meta: { event_id: derivedEventId(id, `spec-copy-${index}`), correlation_id: id, causation_id: null, occurred_at: at + (index + 1) * 4000 * MS, producer: 'coordinator', sequence: null },
      stage_index: index, stage_correlation_id: stageCorrelationId(id, index), decision: 'PROCEED', success: true, ready_count: 2, sent_count: 2,
      applied_through: { topic: 'mesh.acks', partition: 0, offset: 0 }, stepped,
    });
    const requests = async () => [...(await readCoordinationLog(logOptions(k))).outputs.values()].map((o) => o.event)
      .filter((e) => e.type === 'CoordinationRequested' && e.meta.correlation_id.startsWith(`${id}.s`)).map((e) => e.meta.correlation_id);
    await k.sendEvents('mesh.cascades', [{ key: id, event: request }], { unsigned: true });
    await waitFor(async () => (await requests()).length === 1, 30_000, 'the first stage requested');

    // when stage 0's copy lands marked stepped (its outputs went out with it), then the stage ends in the fold but nothing is written for it
    await k.sendEvents('mesh.cascades', [{ key: id, event: copy(0, true) }], { unsigned: true });
    await new Promise((r) => setTimeout(r, 6000));
    assert.deepEqual(await requests(), [stageCorrelationId(id, 0)], 'no stage request for the stepped copy');
    // and the next copy, stepped where it lands, ends the cascade: stage 1 was awaited in the fold
    await k.sendEvents('mesh.cascades', [{ key: id, event: copy(1, null) }], { unsigned: true });
    await waitFor(async () => [...(await readCoordinationLog(logOptions(k))).outputs.values()].some((o) => o.event.type === 'CascadeCompleted' && o.event.meta.correlation_id === id), 30_000, 'the cascade completed');
    const done = [...(await readCoordinationLog(logOptions(k))).outputs.values()].map((o) => o.event).find((e) => e.type === 'CascadeCompleted' && e.meta.correlation_id === id)!;
    assert.ok(done.type === 'CascadeCompleted' && done.status === 'SUCCESS' && done.stages.every((s) => s.outcome === 'SUCCESS'), JSON.stringify(done));
  });
});
