import assert from 'node:assert/strict';
import type { DispatchDue, ScheduleComputed } from '../../../schemas/generated/events';
import { compareCoordination, type CoordinationLog, type CoordinationOutput, type LoggedInput, type LoggedOutput } from '../../../services/coordinator/coordination-replay';
import { dispatchStep, NO_DISPATCH, type DispatchInput } from '../../../services/coordinator/dispatch';
import type { GatherInput } from '../../../services/coordinator/gather';
import { gatherStep, newGatherBook } from '../../../services/coordinator/gather-book';
import { SEED_THRESHOLDS } from '../../../services/coordinator/quorum';
import { agentIds, GATHER_T, gatherInputs } from '../../support/gathers';

// Given/when/then over the comparison: a log whose outputs the service's steps wrote (encoded as
// JSON here, the Confluent framing in the int spec), then one thing changed at a time.
const MS = 1000;
const RETENTION_US = 600_000 * MS;
const encode = async (_topic: string, e: CoordinationOutput) => Buffer.from(JSON.stringify(e));
const opts = { thresholds: SEED_THRESHOLDS, retentionUs: RETENTION_US, encode };

const schedule: ScheduleComputed = {
  type: 'ScheduleComputed', meta: { event_id: 'sched-0', correlation_id: 'c-d', causation_id: null, occurred_at: GATHER_T - 3000 * MS, producer: 'impedance', sequence: null },
  message_id: 'm-d', target_arrival_time: GATHER_T, chunk_index: 0, chunk_count: 1, refused_reason: null, restrictions_through: null,
  terms: { created_at: GATHER_T - 3000 * MS, ttl_ms: 5000, arrival_window_ms: 500, minimum_response_rate: 0.95, priority: 2, payload_hash: 'h', trinary_expectation: 'READY' },
  entries: ['A', 'B'].map((agent_id, i) => ({
    agent_id, status: 'SCHEDULED', lead_time_ms: 200 + i, send_at: GATHER_T - (200 + i) * MS, expected_processing_ms: 50, confidence: 0.7, skip_reason: null, available_ms: null,
    send_bucket_at: GATHER_T - 210 * MS, registry_position: null,
  })),
};
const tick: DispatchDue = { type: 'DispatchDue', meta: { event_id: 'tick-0', correlation_id: 'c-d', causation_id: null, occurred_at: GATHER_T - 300 * MS, producer: 'coordinator', sequence: null }, message_id: 'm-d', due_at: GATHER_T - 210 * MS, shift_us: null, max_sends: null };

const placed = <E>(events: readonly E[]): Array<LoggedInput<E>> => events.map((event, offset) => ({ offset, event }));

/** The inputs, and the outputs the service's steps write from them, as a replay reads them. */
async function logOf(schedules: readonly DispatchInput[], acks: readonly GatherInput[]): Promise<CoordinationLog> {
  const outputs = new Map<string, LoggedOutput>();
  const record = async (e: CoordinationOutput, topic: LoggedOutput['topic']) => outputs.set(e.meta.event_id, { event: e, value: await encode(topic, e), topic, partition: 0, offset: outputs.size });
  let d = NO_DISPATCH;
  for (const [offset, e] of schedules.entries()) {
    const step = dispatchStep(d, e, { topic: 'mesh.schedules', partition: 0, offset });
    d = step.after;
    for (const x of step.events) await record(x, x.type === 'MessageDispatched' ? 'mesh.dispatch' : 'mesh.acks');
  }
  const book = newGatherBook();
  for (const [offset, e] of acks.entries()) for (const q of gatherStep(book, e, SEED_THRESHOLDS, RETENTION_US, { topic: 'mesh.acks', partition: 0, offset })) await record(q, 'mesh.acks');
  return { schedules: new Map([[0, placed(schedules)]]), acks: new Map([[0, placed(acks)]]), outputs, ownKeyCopies: new Map(), duplicates: [] };
}

const sent = agentIds(4);
const acksOf = () => [
  ...gatherInputs('c-1', sent, [[sent[0]!, 'READY', 10], [sent[1]!, 'READY', 20], [sent[2]!, 'READY', 30]]),
  ...gatherInputs('c-2', sent, sent.map((a) => [a, 'READY', 5] as const)),
];

describe('coordination replay: the dispatch and gather refolded and compared', () => {
  it('given outputs the steps wrote from the log, then each is recomputed identical, and each names its input position', async () => {
    const log = await logOf([schedule, tick], acksOf());
    const r = await compareCoordination(log, opts);
    assert.equal(r.divergence, undefined);
    // 2 messages and the summary; 2 decisions
    assert.deepEqual([r.recomputed, r.recorded, r.identical, r.unpositioned, r.inputs], [5, 5, 5, 0, 2 + acksOf().length]);
    const q2 = [...log.outputs.values()].find((o) => o.event.type === 'QuorumDecided' && o.event.meta.correlation_id === 'c-2')!;
    assert.deepEqual(q2.event.applied_through, { topic: 'mesh.acks', partition: 0, offset: 5 + 4 }, 'decided at the fourth ack of c-2 (ALL_ANSWERED)');
  });

  it('given one ack changed, then the decision it changes is named, with its input position, field and both values', async () => {
    const log = await logOf([schedule, tick], acksOf());
    const acks = acksOf();
    const i = acks.findIndex((e) => e.type === 'AckReceived' && e.agent_id === sent[1] && e.meta.correlation_id === 'c-1');
    acks[i] = { ...(acks[i] as Extract<GatherInput, { type: 'AckReceived' }>), state: 'CONFLICT' };
    const r = await compareCoordination({ ...log, acks: new Map([[0, placed(acks)]]) }, opts);
    assert.equal(r.ok, false);
    assert.deepEqual([r.divergence!.kind, r.divergence!.type, r.divergence!.at, r.divergence!.field], ['differs', 'QuorumDecided', 'mesh.acks 0/4', 'ready_count']);
    assert.deepEqual([r.divergence!.recorded, r.divergence!.recomputed], [3, 2]);
  });

  it('given an output missing below the committed offset, then it is named not recorded; past it, the input may not be handled yet', async () => {
    const log = await logOf([schedule, tick], acksOf());
    const q1 = [...log.outputs.values()].find((o) => o.event.type === 'QuorumDecided' && o.event.meta.correlation_id === 'c-1')!;
    const outputs = new Map(log.outputs);
    outputs.delete(q1.event.meta.event_id);
    const missing = await compareCoordination({ ...log, outputs, handledBelow: new Map([['mesh.acks/0', 100]]) }, opts);
    assert.deepEqual([missing.divergence?.kind, missing.divergence?.at], ['not recorded', 'mesh.acks 0/4']);
    const pending = await compareCoordination({ ...log, outputs, handledBelow: new Map([['mesh.acks/0', 4]]) }, opts);
    assert.equal(pending.ok, true);
  });

  it('given an output written twice, or one the refold does not make, then it is named', async () => {
    const log = await logOf([schedule, tick], acksOf());
    const first = log.outputs.values().next().value!;
    const twice = await compareCoordination({ ...log, duplicates: [{ ...first, offset: 99 }] }, opts);
    assert.deepEqual([twice.divergence?.kind, twice.divergence?.eventId], ['recorded twice', first.event.meta.event_id]);
    const extra = { ...first, event: { ...first.event, meta: { ...first.event.meta, event_id: 'stray' } } } as LoggedOutput;
    const stray = await compareCoordination({ ...log, outputs: new Map(log.outputs).set('stray', extra) }, opts);
    assert.deepEqual([stray.divergence?.kind, stray.divergence?.eventId], ['not recomputed', 'stray']);
  });
});
