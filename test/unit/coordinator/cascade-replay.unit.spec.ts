import assert from 'node:assert/strict';
import type { AckReceived, CascadeRequested, CascadeStage, CascadeStageTimedOut, DispatchCompleted, InputPosition, MessageSignature, QuorumDecided } from '../../../schemas/generated/events';
import { cascadeStep, NO_CASCADE, stageCorrelationId, stageDecidedOf, type Cascade, type CascadeInput } from '../../../services/coordinator/cascade';
import { compareCoordination, type CoordinationLog, type CoordinationOutput, type LoggedInput, type LoggedOutput } from '../../../services/coordinator/coordination-replay';
import { dispatchStep, NO_DISPATCH, type DispatchInput } from '../../../services/coordinator/dispatch';
import { mismatchReports, type GatherInput } from '../../../services/coordinator/gather';
import { gatherOf, gatherStep, newGatherBook } from '../../../services/coordinator/gather-book';
import { SEED_THRESHOLDS } from '../../../services/coordinator/quorum';
import { agentIds, GATHER_T, gatherInputs } from '../../support/gathers';

// Given/when/then over the replay of the gather's payload-mismatch reports and of the cascades: a
// log whose outputs the processors' steps wrote (mismatchReports, gatherStep, stageDecidedOf,
// cascadeStep; JSON bytes here), then one thing changed at a time.
const MS = 1000;
const RETENTION_US = 600_000 * MS;
const encode = async (_topic: string, e: CoordinationOutput) => Buffer.from(JSON.stringify(e));
const opts = { thresholds: SEED_THRESHOLDS, retentionUs: RETENTION_US, encode };
const T = GATHER_T;
const SENT = 'sha256-of-the-payload-sent';
const CASCADE = 'cascade-1';
const sig: MessageSignature = { key_id: 'k1', sig: Buffer.alloc(64) };
const meta = (id: string, correlation: string, at: number) => ({ event_id: id, correlation_id: correlation, causation_id: null, occurred_at: at, producer: 'spec', sequence: null });

const completed = (correlation: string, ids: string[]): DispatchCompleted => ({
  type: 'DispatchCompleted', meta: meta(`done-${correlation}`, correlation, T - 10 * MS), message_id: `m-${correlation}`, target_arrival_time: T, arrival_window_ms: 500,
  minimum_response_rate: 0.95, dispatched_agent_ids: ids, expired: [], skipped_count: 0, payload_hash: SENT, expired_count: 0, applied_through: null,
});
const ack = (correlation: string, agent: string, hash: string, n: number): AckReceived => ({
  type: 'AckReceived', meta: meta(`ack-${correlation}-${agent}-${n}`, correlation, T + n * MS), message_id: `m-${correlation}`, agent_id: agent, state: 'READY',
  actual_arrival_at: T + n * MS, expected_arrival_at: T, processing_ms: 10, conflict: null, payload_hash: hash, sender_seq: n + 1, signature: sig,
});
const stage = (label: string, targets: string[]): CascadeStage => ({ label, targets, priority: 0, lead_ms: 300, arrival_window_ms: 200, minimum_response_rate: 0.95, timeout_ms: 1000 });
const request: CascadeRequested = {
  type: 'CascadeRequested', meta: meta('req', CASCADE, T - 2000 * MS), strategy: 'WAVE', stages: [stage('leads', ['A000', 'A001']), stage('agents', ['sector:S000'])],
  payload_weight: 0, priority: 2, source_agent_id: 'orchestrator',
};

const acksAt = (offset: number): InputPosition => ({ topic: 'mesh.acks', partition: 0, offset });
const cascadesAt = (offset: number): InputPosition => ({ topic: 'mesh.cascades', partition: 0, offset });
const placed = <E>(events: readonly E[]): Array<LoggedInput<E>> => events.map((event, offset) => ({ offset, event }));

/** The decisions `inputs` bring about, appended as the coordinator reads them back. */
function withDecisionsReadBack(inputs: GatherInput[]): GatherInput[] {
  const book = newGatherBook();
  const out: QuorumDecided[] = [];
  inputs.forEach((e, i) => out.push(...gatherStep(book, e, SEED_THRESHOLDS, RETENTION_US, acksAt(i))));
  return [...inputs, ...out.filter((q) => !inputs.some((x) => x.meta.event_id === q.meta.event_id))];
}

/** mesh.acks 0: a wrong ack of an open gather, one before its summary, and two cascade stages decided and read back. */
function acksLog(): GatherInput[] {
  const sent = agentIds(2);
  let acks: GatherInput[] = [
    completed('corr-h', ['A', 'B']), ack('corr-h', 'A', SENT, 0), ack('corr-h', 'B', 'forged-payload', 1), ack('corr-h', 'B', SENT, 2),
    ack('corr-e', 'C', 'forged-payload', 0), completed('corr-e', ['C', 'D']),
    ...gatherInputs(stageCorrelationId(CASCADE, 0), sent, sent.map((a) => [a, 'READY', 5] as const)),
  ];
  acks = withDecisionsReadBack(acks);
  acks.push(...gatherInputs(stageCorrelationId(CASCADE, 1), sent, sent.map((a) => [a, 'READY', 7] as const)));
  return withDecisionsReadBack(acks);
}

/**
 * What the coordinator writes from the log, with its processors' steps. `stepNow`: stage indices
 * whose copy was stepped in the transaction that wrote it (its outputs name the copy's QuorumDecided).
 */
async function logOf(acks: GatherInput[], o: { stepNow?: readonly number[]; cascadesChanged?: (c: CascadeInput[]) => CascadeInput[] } = {}): Promise<CoordinationLog> {
  const outputs = new Map<string, LoggedOutput>();
  const record = async (e: CoordinationOutput, topic: LoggedOutput['topic']) => outputs.set(e.meta.event_id, { event: e, value: await encode(topic, e), topic, partition: 0, offset: outputs.size });
  const book = newGatherBook();
  const cascades: CascadeInput[] = [request];
  for (const [offset, e] of acks.entries()) {
    const at = acksAt(offset);
    for (const r of mismatchReports(gatherOf(book, e.meta.correlation_id), e, at, false)) await record(r, 'mesh.conflicts');
    for (const q of gatherStep(book, e, SEED_THRESHOLDS, RETENTION_US, at)) await record(q, 'mesh.acks');
    const made = e.type === 'QuorumDecided' ? stageDecidedOf(e, at) : null;
    const copy = made && o.stepNow?.includes(made.stage_index) ? { ...made, stepped: true } : made;
    if (copy) { await record(copy, 'mesh.cascades'); cascades.push(copy); }
  }
  let c: Cascade = NO_CASCADE;
  for (const [offset, e] of cascades.entries()) {
    const at = e.type === 'CascadeStageDecided' && e.stepped === true ? e.applied_through : cascadesAt(offset);
    const s = cascadeStep(c, e, at);
    c = s.next;
    for (const x of s.out) await record(x, x.type === 'CascadeCompleted' ? 'mesh.cascades' : 'mesh.coordination');
  }
  const read = o.cascadesChanged ? o.cascadesChanged(cascades) : cascades;
  return { schedules: new Map(), acks: new Map([[0, placed(acks)]]), cascades: new Map([[0, placed(read)]]), outputs, ownKeyCopies: new Map(), duplicates: [] };
}

const outputOf = (log: CoordinationLog, type: CoordinationOutput['type'], where: (e: CoordinationOutput) => boolean = () => true) =>
  [...log.outputs.values()].map((x) => x.event).find((e) => e.type === type && where(e))!;

describe('coordination replay: payload-mismatch reports and cascades refolded and compared', () => {
  it('given outputs the steps wrote from the log, then each is recomputed identical, and each names the input it was decided at', async () => {
    const acks = acksLog();
    const log = await logOf(acks);
    const r = await compareCoordination(log, opts);
    assert.equal(r.divergence, undefined);
    // 3 decisions, 2 reports, 2 copies, 2 stage requests, 1 end
    assert.deepEqual([r.recomputed, r.recorded, r.identical, r.unpositioned], [10, 10, 10, 0]);
    assert.deepEqual(outputOf(log, 'ConflictReported', (e) => e.meta.correlation_id === 'corr-h').applied_through, acksAt(2), 'the wrong ack itself');
    assert.deepEqual(outputOf(log, 'ConflictReported', (e) => e.meta.correlation_id === 'corr-e').applied_through, acksAt(5), 'the summary after the early wrong ack');
    const q0 = acks.findIndex((e) => e.type === 'QuorumDecided' && e.meta.correlation_id === stageCorrelationId(CASCADE, 0));
    assert.deepEqual(outputOf(log, 'CascadeStageDecided', (e) => e.type === 'CascadeStageDecided' && e.stage_index === 0).applied_through, acksAt(q0));
    assert.deepEqual(outputOf(log, 'CoordinationRequested', (e) => e.meta.correlation_id === stageCorrelationId(CASCADE, 0)).applied_through, cascadesAt(0));
    assert.deepEqual(outputOf(log, 'CoordinationRequested', (e) => e.meta.correlation_id === stageCorrelationId(CASCADE, 1)).applied_through, cascadesAt(1));
    assert.deepEqual(outputOf(log, 'CascadeCompleted').applied_through, cascadesAt(2));
  });

  it('given a copy stepped in the transaction that wrote it (marked stepped), then its outputs name its QuorumDecided and are identical; another position is named', async () => {
    const acks = acksLog();
    const log = await logOf(acks, { stepNow: [0] });
    const q0 = acks.findIndex((e) => e.type === 'QuorumDecided' && e.meta.correlation_id === stageCorrelationId(CASCADE, 0));
    const next = outputOf(log, 'CoordinationRequested', (e) => e.meta.correlation_id === stageCorrelationId(CASCADE, 1));
    assert.deepEqual(next.applied_through, acksAt(q0));
    assert.equal((await compareCoordination(log, opts)).ok, true);
    const rec = log.outputs.get(next.meta.event_id)!;
    const moved = { ...next, applied_through: acksAt(q0 - 1) };
    const r = await compareCoordination({ ...log, outputs: new Map(log.outputs).set(next.meta.event_id, { ...rec, event: moved, value: await encode(rec.topic, moved) }) }, opts);
    assert.deepEqual([r.divergence?.kind, r.divergence?.type, r.divergence?.at, r.divergence?.field], ['differs', 'CoordinationRequested', 'mesh.cascades 0/1', 'applied_through.offset']);
  });

  it('given a wrong ack changed, then its report is named with its input position, field and both values', async () => {
    const acks = acksLog();
    const log = await logOf(acks);
    acks[2] = { ...(acks[2] as AckReceived), payload_hash: 'another-forgery' };
    const r = await compareCoordination({ ...log, acks: new Map([[0, placed(acks)]]) }, opts);
    assert.deepEqual([r.divergence?.kind, r.divergence?.type, r.divergence?.at, r.divergence?.field], ['differs', 'ConflictReported', 'mesh.acks 0/2', 'detail.received_value']);
    assert.match(String(r.divergence?.recomputed), /another-forgery/);
  });

  it('given a stage decision copy changed in the cascade partition, then the cascade end is named with the field', async () => {
    const log = await logOf(acksLog(), { cascadesChanged: (c) => c.map((e) => (e.type === 'CascadeStageDecided' && e.stage_index === 1 ? { ...e, ready_count: 1 } : e)) });
    const r = await compareCoordination(log, opts);
    assert.deepEqual([r.divergence?.kind, r.divergence?.type, r.divergence?.at, r.divergence?.field, r.divergence?.recorded, r.divergence?.recomputed],
      ['differs', 'CascadeCompleted', 'mesh.cascades 0/2', 'stages[1].ready_count', 2, 1]);
  });

  it('given a stage request missing below the committed offset, then it is named not recorded at the copy it was decided at', async () => {
    const log = await logOf(acksLog());
    const req = outputOf(log, 'CoordinationRequested', (e) => e.meta.correlation_id === stageCorrelationId(CASCADE, 1));
    const outputs = new Map(log.outputs);
    outputs.delete(req.meta.event_id);
    const r = await compareCoordination({ ...log, outputs, handledBelow: new Map([['mesh.cascades/0', 3], ['mesh.acks/0', 100]]) }, opts);
    assert.deepEqual([r.divergence?.kind, r.divergence?.type, r.divergence?.at], ['not recorded', 'CoordinationRequested', 'mesh.cascades 0/1']);
  });
});

describe('coordination replay: a stage deadline passed on by the dispatch, compared at its tick', () => {
  const S0 = stageCorrelationId(CASCADE, 0);
  const DEADLINE = T + 1500 * MS;
  // The cascade's deadline tick on the stage's partition of mesh.schedules, no schedule read by it: passed on at once.
  const tick: CascadeStageTimedOut = { type: 'CascadeStageTimedOut', meta: meta('deadline-tick', S0, DEADLINE + 20 * MS), stage_index: 0, deadline_at: DEADLINE, applied_through: null };
  async function logOfTicks(schedules: DispatchInput[]): Promise<CoordinationLog> {
    const outputs = new Map<string, LoggedOutput>();
    for (const [offset, e] of schedules.entries()) {
      const { deadline } = dispatchStep(NO_DISPATCH, e, { topic: 'mesh.schedules', partition: 0, offset });
      if (deadline) outputs.set(deadline.meta.event_id, { event: deadline, value: await encode('mesh.cascades', deadline), topic: 'mesh.cascades', partition: 0, offset });
    }
    return { schedules: new Map([[0, placed(schedules)]]), acks: new Map(), outputs, ownKeyCopies: new Map(), duplicates: [] };
  }

  it('given the passed-on deadline the step wrote, then it is recomputed identical, naming its tick; a changed tick is named with the field', async () => {
    const log = await logOfTicks([tick]);
    const r = await compareCoordination(log, opts);
    assert.deepEqual([r.ok, r.recorded, r.identical], [true, 1, 1]);
    assert.deepEqual([...log.outputs.values()][0]!.event.applied_through, { topic: 'mesh.schedules', partition: 0, offset: 0 });
    const changed = await compareCoordination({ ...log, schedules: new Map([[0, placed([{ ...tick, deadline_at: DEADLINE - 5 * MS }])]]) }, opts);
    assert.deepEqual([changed.divergence?.kind, changed.divergence?.type, changed.divergence?.at, changed.divergence?.field], ['differs', 'CascadeStageTimedOut', 'mesh.schedules 0/0', 'deadline_at']);
  });
});
