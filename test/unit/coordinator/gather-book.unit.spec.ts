import assert from 'node:assert/strict';
import type { AckReceived, GatherWindowClosed, QuorumDecided } from '../../../schemas/generated/events';
import { decide, quorumEvent, type GatherInput } from '../../../services/coordinator/gather';
import { foldGatherBook, gatherOf, newGatherBook, type GatherBook } from '../../../services/coordinator/gather-book';
import { SEED_THRESHOLDS } from '../../../services/coordinator/quorum';
import { agentIds, gatherInputs, type Answer } from '../../support/gathers';

// Given/when/then over one acks partition's book of gathers: decisions as the processor makes
// them (decide on the book before the input, then fold), ids dropped after the retention in the
// partition's event time, and a restart that folds the partition's log again.
const S = 1_000_000; // µs
const T0 = 1_767_225_600_000_000;
const RETENTION = 60 * S;

/** The processor's path: decisions the inputs bring about, folding them into `book`. */
function run(book: GatherBook, inputs: readonly GatherInput[], retentionUs = RETENTION): QuorumDecided[] {
  const out: QuorumDecided[] = [];
  for (const e of inputs) {
    for (const d of decide(gatherOf(book, e.meta.correlation_id), e, SEED_THRESHOLDS)) out.push(quorumEvent(e, d, SEED_THRESHOLDS, null));
    foldGatherBook(book, e, SEED_THRESHOLDS, retentionUs);
  }
  return out;
}

/** Coordination `i`, T at T0 + i s: 3 agents sent the message, all READY in the window (decided at the 3rd ack). */
const coordination = (i: number) => gatherInputs(`g${i}`, agentIds(3), agentIds(3).map((a): Answer => [a, 'READY', 10]), T0 + i * S);
const lateAck = (corr: string, atUs: number): AckReceived => ({
  type: 'AckReceived', meta: { event_id: `${corr}-late-${atUs}`, correlation_id: corr, causation_id: null, occurred_at: atUs, producer: 'spec', sequence: null },
  message_id: corr, agent_id: 'A000', state: 'CONFLICT', actual_arrival_at: atUs, expected_arrival_at: atUs, processing_ms: 1, conflict: null, payload_hash: null, sender_seq: null, signature: null,
});
const deadline = (corr: string, atUs: number): GatherWindowClosed => ({
  type: 'GatherWindowClosed', meta: { event_id: `${corr}-dl-${atUs}`, correlation_id: corr, causation_id: null, occurred_at: atUs, producer: 'spec', sequence: null },
  message_id: corr, window_end_at: atUs, grace_ms: 0,
});

describe('gather book: bounded memory, one decision per correlation id', () => {
  it('given 200 coordinations one second apart, each decided, then the book holds only the ids decided within the last 60 s of event time', () => {
    const book = newGatherBook();
    const decisions = run(book, Array.from({ length: 200 }, (_, i) => coordination(i)).flat());
    assert.equal(decisions.length, 200);
    // the last input is g199's deadline at T0 + 200.5 s; g_i decides at its 3rd ack, when the
    // clock is g_(i-1)'s deadline, T0 + (i + 0.5) s: kept while i + 0.5 > 200.5 - 60, i >= 141
    assert.equal(book.clockUs, T0 + 199 * S + 1_500_000);
    const kept = [...book.gathers.keys()].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
    assert.deepEqual([kept.length, kept[0], kept.at(-1)], [59, 'g141', 'g199']);
    assert.ok(book.queue.length - book.head <= 60, 'the queue is bounded too');
  });

  it('given a decided id dropped from the book, when a late ack and a second deadline for it arrive, then it decides nothing, and the late ack is dropped in turn', () => {
    const book = newGatherBook();
    assert.equal(run(book, coordination(0)).length, 1);
    run(book, coordination(100)); // moves the clock 100 s on: g0 dropped
    assert.equal(book.gathers.has('g0'), false);
    assert.deepEqual(run(book, [lateAck('g0', T0 + 101 * S), deadline('g0', T0 + 102 * S)]), []);
    assert.equal(gatherOf(book, 'g0').status, 'early', 'the late ack waits for a summary that never comes');
    run(book, coordination(200));
    assert.equal(book.gathers.has('g0'), false);
  });

  it('given acks of a coordination whose dispatch summary never comes, then they are dropped 60 s of event time later', () => {
    const book = newGatherBook();
    run(book, [lateAck('orphan', T0)]);
    run(book, coordination(30));
    assert.equal(gatherOf(book, 'orphan').status, 'early');
    run(book, coordination(61));
    assert.equal(gatherOf(book, 'orphan').status, 'none');
  });

  it('given a gather still open past the retention (its deadline not yet read), then it is kept and decides at its deadline', () => {
    const book = newGatherBook();
    const [summary, ...rest] = gatherInputs('slow', agentIds(3), [['A000', 'READY', 10]], T0);
    run(book, [summary!, rest[0]!]);
    run(book, coordination(120));
    assert.equal(gatherOf(book, 'slow').status, 'open');
    const d = run(book, [deadline('slow', T0 + 122 * S)]);
    assert.deepEqual(d.map((x) => [x.meta.correlation_id, x.closed_by, x.ready_count, x.silent_count]), [['slow', 'WINDOW_CLOSED', 1, 2]]);
  });

  it('given the processor restarted at any record (its new owner folds the log up to there again), then the decisions are those of an uninterrupted run, one per id', () => {
    // 40 coordinations 5 s apart (ids dropped meanwhile), each with a late ack and a second deadline well after its drop
    const log: GatherInput[] = [];
    for (let i = 0; i < 40; i++) log.push(...coordination(i * 5));
    for (let i = 0; i < 40; i++) log.push(lateAck(`g${i * 5}`, T0 + (200 + i) * S), deadline(`g${i * 5}`, T0 + (200 + i) * S + 1));
    const uninterrupted = run(newGatherBook(), log);
    assert.equal(uninterrupted.length, 40);
    assert.equal(new Set(uninterrupted.map((d) => d.meta.correlation_id)).size, 40);
    for (const at of [1, 7, 100, 160, 170, log.length - 1]) {
      const restored = newGatherBook();
      for (const e of log.slice(0, at)) foldGatherBook(restored, e, SEED_THRESHOLDS, RETENTION);
      const before = run(newGatherBook(), log.slice(0, at));
      assert.deepEqual([...before, ...run(restored, log.slice(at))], uninterrupted, `restarted at record ${at}`);
    }
  });

  it('given retention 0, then a decided id is dropped at once and a second deadline still decides nothing', () => {
    const book = newGatherBook();
    assert.equal(run(book, coordination(0), 0).length, 1);
    assert.equal(book.gathers.size, 0);
    assert.deepEqual(run(book, [deadline('g0', T0 + 2 * S)], 0), []);
  });
});
