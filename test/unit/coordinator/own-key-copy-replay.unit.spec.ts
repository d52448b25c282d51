import assert from 'node:assert/strict';
import type { AckReceived, DispatchCompleted, InputPosition, MessageSignature } from '../../../schemas/generated/events';
import { isCoordinationOutput } from '../../../services/coordinator/coordination-log';
import { compareCoordination, type CoordinationLog, type CoordinationOutput, type LoggedCopy, type LoggedOutput } from '../../../services/coordinator/coordination-replay';
import { copiedToAgent, mismatchReports, type GatherInput } from '../../../services/coordinator/gather';
import { gatherOf, gatherStep, newGatherBook } from '../../../services/coordinator/gather-book';
import { SEED_THRESHOLDS } from '../../../services/coordinator/quorum';
import { classesOf, type Output } from '../../support/fuzz-outputs';

// Given/when/then over the replay of the own-key copies: a report whose ack its agent signed
// (signatures verified) is written on mesh.conflicts and copied to mesh.agent-acks keyed by the
// agent, one event id for both. A log the gather's steps wrote (JSON bytes here), then one copy
// changed, removed, re-keyed or written twice at a time.
const MS = 1000;
const T = 1_767_225_600_000_000;
const RETENTION_US = 600_000 * MS;
const SENT = 'sha256-of-the-payload-sent';
const encode = async (topic: string, e: CoordinationOutput) => Buffer.from(`${topic} ${JSON.stringify(e)}`);
const opts = { thresholds: SEED_THRESHOLDS, retentionUs: RETENTION_US, encode, signaturesVerified: true };
const sig: MessageSignature = { key_id: 'k1', sig: Buffer.alloc(64) };
const meta = (id: string, correlation: string, at: number) => ({ event_id: id, correlation_id: correlation, causation_id: null, occurred_at: at, producer: 'spec', sequence: null });

const completed = (correlation: string, ids: string[]): DispatchCompleted => ({
  type: 'DispatchCompleted', meta: meta(`done-${correlation}`, correlation, T - 10 * MS), message_id: `m-${correlation}`, target_arrival_time: T, arrival_window_ms: 500,
  minimum_response_rate: 0.95, dispatched_agent_ids: ids, expired: [], skipped_count: 0, payload_hash: SENT, expired_count: 0, applied_through: null,
});
const ack = (correlation: string, agent: string, hash: string, n: number, signed = true): AckReceived => ({
  type: 'AckReceived', meta: meta(`ack-${correlation}-${agent}-${n}`, correlation, T + n * MS), message_id: `m-${correlation}`, agent_id: agent, state: 'READY',
  actual_arrival_at: T + n * MS, expected_arrival_at: T, processing_ms: 10, conflict: null, payload_hash: hash, sender_seq: n + 1, signature: signed ? sig : null,
});

/** mesh.acks 0: B signs a wrong ack of an open gather (offset 2), C an early one (offset 4, reported at the summary, 5), D's wrong ack is unsigned (7). */
const acksLog = (): GatherInput[] => [
  completed('corr-h', ['A', 'B']), ack('corr-h', 'A', SENT, 0), ack('corr-h', 'B', 'forged-payload', 1), ack('corr-h', 'B', SENT, 2),
  ack('corr-e', 'C', 'forged-payload', 0), completed('corr-e', ['C', 'D']), ack('corr-e', 'C', SENT, 1), ack('corr-e', 'D', 'forged-payload', 2, false),
];
const acksAt = (offset: number): InputPosition => ({ topic: 'mesh.acks', partition: 0, offset });

/** What the gather processor writes from the log: reports and decisions, and each own-key report copied keyed by its agent. */
async function logOf(acks: GatherInput[]): Promise<CoordinationLog> {
  const outputs = new Map<string, LoggedOutput>();
  const ownKeyCopies = new Map<string, LoggedCopy>();
  let offset = 0;
  const record = async (e: CoordinationOutput, topic: LoggedOutput['topic']) => outputs.set(e.meta.event_id, { event: e, value: await encode(topic, e), topic, partition: 0, offset: offset++ });
  const book = newGatherBook();
  for (const [i, e] of acks.entries()) {
    const at = acksAt(i);
    for (const r of mismatchReports(gatherOf(book, e.meta.correlation_id), e, at, true)) {
      await record(r, 'mesh.conflicts');
      if (copiedToAgent(r)) ownKeyCopies.set(r.meta.event_id, { event: r, value: await encode('mesh.agent-acks', r), topic: 'mesh.agent-acks', partition: 1, offset: offset++, key: r.agent_id });
    }
    for (const q of gatherStep(book, e, SEED_THRESHOLDS, RETENTION_US, at)) await record(q, 'mesh.acks');
  }
  return { schedules: new Map(), acks: new Map([[0, acks.map((event, o) => ({ offset: o, event }))]]), outputs, ownKeyCopies, duplicates: [] };
}

const copyOf = (log: CoordinationLog, agent: string): LoggedCopy => [...log.ownKeyCopies.values()].find((c) => c.event.type === 'ConflictReported' && c.event.agent_id === agent)!;
const without = <V>(m: ReadonlyMap<string, V>, id: string) => { const x = new Map(m); x.delete(id); return x; };

describe('coordination replay: the own-key copies of payload-mismatch reports on mesh.agent-acks', () => {
  it('given reports and the copies of those signed by their agents, then every copy is recomputed identical, at the ack or summary that showed it', async () => {
    const log = await logOf(acksLog());
    assert.deepEqual([...log.ownKeyCopies.values()].map((c) => [c.key, c.event.applied_through?.offset]), [['B', 2], ['C', 5]], 'D signed nothing: reported, not copied');
    const r = await compareCoordination(log, opts);
    assert.equal(r.divergence, undefined);
    // 3 reports, corr-h's decision (corr-e still waits for D), 2 copies
    assert.deepEqual([r.recomputed, r.recorded, r.identical, r.copies], [6, 6, 6, 2]);
  });

  it('given a copy missing below the committed offset, then it is named not recorded, copied to mesh.agent-acks, at its ack; past it, the ack may not be handled yet', async () => {
    const log = await logOf(acksLog());
    const b = copyOf(log, 'B');
    const missing = await compareCoordination({ ...log, ownKeyCopies: without(log.ownKeyCopies, b.event.meta.event_id), handledBelow: new Map([['mesh.acks/0', 100]]) }, opts);
    assert.deepEqual([missing.divergence?.kind, missing.divergence?.type, missing.divergence?.eventId, missing.divergence?.copiedTo, missing.divergence?.at],
      ['not recorded', 'ConflictReported', b.event.meta.event_id, 'mesh.agent-acks', 'mesh.acks 0/2']);
    const pending = await compareCoordination({ ...log, ownKeyCopies: without(log.ownKeyCopies, b.event.meta.event_id), handledBelow: new Map([['mesh.acks/0', 2]]) }, opts);
    assert.equal(pending.ok, true);
  });

  it('given a copy whose bytes differ from its report, then it is named with the field and both values; the report itself is identical', async () => {
    const log = await logOf(acksLog());
    const c = copyOf(log, 'C');
    const event = c.event.type === 'ConflictReported' ? { ...c.event, detail: { ...c.event.detail, received_value: 'something else' } } : c.event;
    const changed = new Map(log.ownKeyCopies).set(c.event.meta.event_id, { ...c, event, value: await encode(c.topic, event) });
    const r = await compareCoordination({ ...log, ownKeyCopies: changed }, opts);
    assert.deepEqual([r.divergence?.kind, r.divergence?.copiedTo, r.divergence?.at, r.divergence?.field, r.divergence?.recorded],
      ['differs', 'mesh.agent-acks', 'mesh.acks 0/5', 'detail.received_value', 'something else']);
    assert.match(String(r.divergence?.recomputed), /^PAYLOAD_HASH_MISMATCH: ack ack-corr-e-C-0 of C/);
  });

  it('given a copy keyed by another than its agent, then it is named at the key: the agent\'s fold would not read it', async () => {
    const log = await logOf(acksLog());
    const b = copyOf(log, 'B');
    const r = await compareCoordination({ ...log, ownKeyCopies: new Map(log.ownKeyCopies).set(b.event.meta.event_id, { ...b, key: 'corr-h' }) }, opts);
    assert.deepEqual([r.divergence?.kind, r.divergence?.copiedTo, r.divergence?.field, r.divergence?.recorded, r.divergence?.recomputed], ['differs', 'mesh.agent-acks', 'key', 'corr-h', 'B']);
  });

  it('given a copy written twice, or a copy of a report that was not its agent\'s own, then it is named as a copy', async () => {
    const log = await logOf(acksLog());
    const b = copyOf(log, 'B');
    const twice = await compareCoordination({ ...log, duplicates: [{ ...b, offset: 99 }] }, opts);
    assert.deepEqual([twice.divergence?.kind, twice.divergence?.eventId, twice.divergence?.copiedTo, twice.divergence?.at], ['recorded twice', b.event.meta.event_id, 'mesh.agent-acks', 'mesh.agent-acks 1/99']);
    // D's ack was unsigned: its report (identical on mesh.conflicts) copied all the same
    const d = [...log.outputs.values()].find((o) => o.event.type === 'ConflictReported' && o.event.agent_id === 'D')!;
    const stray = await compareCoordination({ ...log, ownKeyCopies: new Map(log.ownKeyCopies).set(d.event.meta.event_id, { ...d, topic: 'mesh.agent-acks', partition: 3, offset: 7, key: 'D' }) }, opts);
    assert.deepEqual([stray.divergence?.kind, stray.divergence?.eventId, stray.divergence?.copiedTo, stray.divergence?.at], ['not recomputed', d.event.meta.event_id, 'mesh.agent-acks', 'mesh.acks 0/7']);
  });

  it('the copies are coordination outputs (the soak\'s class), the impedance service\'s own-key copies there are not', async () => {
    const log = await logOf(acksLog());
    const b = copyOf(log, 'B').event;
    assert.equal(isCoordinationOutput('mesh.agent-acks', b), true);
    assert.equal(isCoordinationOutput('mesh.agent-acks', { ...b, meta: { ...b.meta, producer: 'impedance' } }), false);
    // a copy is a coordination effect by itself, not only through the report that shares its event id
    const copy: Output = { topic: 'mesh.agent-acks', id: `mesh.agent-acks ${b.meta.event_id} coordinator`, causation: b.meta.causation_id, eventId: b.meta.event_id, producer: 'coordinator', type: b.type, body: '', ...(isCoordinationOutput('mesh.agent-acks', b) ? { coordination: true as const } : {}) };
    assert.equal(classesOf([copy]).get(b.meta.event_id), 'coordination');
  });
});
