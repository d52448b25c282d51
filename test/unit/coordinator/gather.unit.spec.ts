import assert from 'node:assert/strict';
import type { AckReceived, DispatchCompleted, GatherWindowClosed, QuorumDecided, TrinaryState } from '../../../schemas/generated/events';
import { decide, evolve, NO_GATHER, quorumEvent, type GatherInput } from '../../../services/coordinator/gather';
import { SEED_THRESHOLDS } from '../../../services/coordinator/quorum';

// Given/when/then over the gather decider: inputs in partition order, the decisions they bring.
const T = 1_767_225_600_000_000; // µs
const MS = 1000;
const CORR = 'corr-1';
const meta = (id: string, at: number) => ({ event_id: id, correlation_id: CORR, causation_id: null, occurred_at: at, producer: 'spec', sequence: null });
const agents = (n: number) => Array.from({ length: n }, (_, i) => `A${String(i).padStart(3, '0')}`);

const completed = (ids: string[], windowMs = 500, min = 0.95): DispatchCompleted => ({
  type: 'DispatchCompleted', meta: meta('done', T - 10 * MS), message_id: 'm1', target_arrival_time: T, arrival_window_ms: windowMs,
  minimum_response_rate: min, dispatched_agent_ids: ids, expired: [], skipped_count: 0, payload_hash: null, expired_count: 0, applied_through: null,
});
const ack = (agent: string, state: TrinaryState = 'READY', afterTms = 0): AckReceived => ({
  type: 'AckReceived', meta: meta(`ack-${agent}-${state}-${afterTms}`, T + afterTms * MS), message_id: 'm1', agent_id: agent, state,
  actual_arrival_at: T + afterTms * MS, expected_arrival_at: T, processing_ms: 10, conflict: null, payload_hash: null, sender_seq: null, signature: null,
});
const closed = (n = 1): GatherWindowClosed => ({ type: 'GatherWindowClosed', meta: meta(`closed-${n}`, T + 1500 * MS), message_id: 'm1', window_end_at: T + 500 * MS, grace_ms: 1000 });

/** Folds the inputs; the decisions they emitted, with the index of the input that decided. */
function given(...inputs: GatherInput[]): Array<QuorumDecided & { at: number }> {
  let g = NO_GATHER;
  const out: Array<QuorumDecided & { at: number }> = [];
  inputs.forEach((e, i) => {
    for (const d of decide(g, e, SEED_THRESHOLDS)) out.push({ ...quorumEvent(e, d, SEED_THRESHOLDS, null), at: i });
    g = evolve(g, e, SEED_THRESHOLDS);
  });
  return out;
}

describe('gather (seed 002 §3.2 phases 5-6, §5.2)', () => {
  it('given 4 agents sent the message, when all 4 answer READY inside the window, then PROCEED at the 4th ack (nothing can change it): confidence 1, SUCCESS', () => {
    const ids = agents(4);
    const out = given(completed(ids), ...ids.map((a, i) => ack(a, 'READY', i * 10)), closed());
    assert.equal(out.length, 1);
    const [d] = out;
    assert.equal(d!.at, 4, 'decided by the last ack, not the deadline');
    assert.deepEqual([d!.decision, d!.closed_by, d!.confidence, d!.gather_status, d!.response_rate], ['PROCEED', 'ALL_ANSWERED', 1, 'SUCCESS', 1]);
    assert.deepEqual([d!.sent_count, d!.total, d!.ready_count, d!.transit_count, d!.conflict_count, d!.straggler_count], [4, 4, 4, 0, 0, 0]);
    assert.equal(d!.retry_advice, null);
    assert.equal(d!.meta.occurred_at, T + 30 * MS, 'event time of the deciding ack');
  });

  it('given 20 sent, when 18 READY and 1 CONFLICT arrive in the window and 1 ack 100 ms after it, then at that late ack (every agent settled: nothing can change the outcome): RETRY, PARTIAL 0.90, the late agent named', () => {
    // ready 18/20 = 0.90 < 0.95; transit (the late one) 1/20 = 0.05 <= 0.10; conflict 1/20 = 0.05 <= 0.05: RETRY.
    // response rate 18/20 = 0.90 < 0.95: PARTIAL; stragglers 20 - 18 - 1 = 1.
    const ids = agents(20);
    const out = given(completed(ids), ...ids.slice(0, 18).map((a) => ack(a)), ack(ids[18]!, 'CONFLICT', 200), ack(ids[19]!, 'READY', 600), closed());
    assert.equal(out.length, 1);
    const d = out[0]!;
    assert.equal(d.at, 20, 'decided by the late ack, not the deadline 5 s of grace later');
    assert.deepEqual([d.decision, d.closed_by, d.achieved, d.confidence], ['RETRY', 'ALL_ANSWERED', false, null]);
    assert.deepEqual([d.ready_count, d.conflict_count, d.transit_count, d.silent_count, d.late_count], [18, 1, 1, 1, 1]);
    assert.deepEqual([d.gather_status, d.response_rate, d.straggler_count, d.straggler_ids], ['PARTIAL', 0.9, 1, [ids[19]]]);
    assert.equal(d.retry_advice, 'ADJUST_COMPENSATION');
    assert.equal(d.recommendation, 'Retry with adjusted impedance compensation');
  });

  it('given 20 sent, 18 READY, 1 late, 1 silent, then the deadline decides (the silent one could still answer in the window): the same RETRY, a second ack of the late agent inside the window changes nothing', () => {
    const ids = agents(20);
    const late = ack(ids[19]!, 'READY', 600);
    const again: AckReceived = { ...ack(ids[19]!, 'READY', 100), meta: meta('again', T + 100 * MS) };
    const out = given(completed(ids), ...ids.slice(0, 18).map((a) => ack(a)), late, again, closed());
    assert.equal(out.length, 1);
    const d = out[0]!;
    assert.equal(d.at, 21, 'decided by the deadline');
    assert.deepEqual([d.decision, d.closed_by, d.ready_count, d.silent_count, d.late_count, d.straggler_ids], ['RETRY', 'WINDOW_CLOSED', 18, 2, 1, [ids[18], ids[19]]]);
  });

  it('given 100 sent and 80 READY, 5 CONFLICT, 15 silent at the deadline, then WAIT (15 % in transit), advice EXTEND_WINDOW, the first 15 stragglers named', () => {
    const ids = agents(100);
    const out = given(completed(ids), ...ids.slice(0, 80).map((a) => ack(a)), ...ids.slice(80, 85).map((a) => ack(a, 'CONFLICT')), closed());
    const d = out[0]!;
    assert.deepEqual([d.decision, d.transit_count, d.silent_count, d.straggler_count, d.retry_advice], ['WAIT', 15, 15, 15, 'EXTEND_WINDOW']);
    assert.deepEqual(d.straggler_ids, ids.slice(85));
  });

  it('given 100 sent and 90 READY, 8 CONFLICT, 2 TRANSIT, then RESOLVE_CONFLICTS early, at the 6th CONFLICT (6/100 > 0.05, ready at most 94, transit at most 4)', () => {
    const ids = agents(100);
    const out = given(completed(ids), ...ids.slice(0, 90).map((a) => ack(a)), ...ids.slice(90, 98).map((a) => ack(a, 'CONFLICT')), ...ids.slice(98).map((a) => ack(a, 'TRANSIT')));
    assert.deepEqual(out.map((d) => [d.at, d.decision, d.closed_by, d.unsettled_count, d.retry_advice, d.conflict_count, d.straggler_count]),
      [[96, 'RESOLVE_CONFLICTS', null, 4, 'RESOLVE_CONFLICTS_FIRST', 6, 4]]);
  });

  it('given 100 sent, when the 95th READY lands with no CONFLICT, then PROCEED SUCCESS there (5 CONFLICT more would be 5 % <= 5 %), the 5 unsettled counted silent; their acks and the deadline decide nothing more', () => {
    // confidence as of the decision: 95/100 - 0.5 * 0/100 = 0.95; stragglers 100 - 95 - 0 = 5
    const ids = agents(100);
    const out = given(completed(ids), ...ids.slice(0, 95).map((a) => ack(a)), ...ids.slice(95).map((a) => ack(a, 'CONFLICT')), closed());
    assert.equal(out.length, 1);
    const d = out[0]!;
    assert.deepEqual([d.at, d.decision, d.gather_status, d.closed_by, d.unsettled_count, d.confidence, d.retry_advice], [95, 'PROCEED', 'SUCCESS', null, 5, 0.95, null]);
    assert.deepEqual([d.ready_count, d.conflict_count, d.transit_count, d.silent_count, d.late_count, d.straggler_ids], [95, 0, 5, 5, 0, ids.slice(95)]);
    assert.equal(d.meta.occurred_at, T, 'event time of the deciding ack');
  });

  it('given 100 sent, 94 READY and 1 CONFLICT, then not yet (5 CONFLICT more: RESOLVE_CONFLICTS; 5 READY: PROCEED): the next READY decides PROCEED', () => {
    const ids = agents(100);
    const out = given(completed(ids), ...ids.slice(0, 94).map((a) => ack(a)), ack(ids[94]!, 'CONFLICT'), ...ids.slice(95).map((a) => ack(a)));
    assert.deepEqual(out.map((d) => [d.at, d.decision, d.ready_count, d.conflict_count, d.unsettled_count]), [[96, 'PROCEED', 95, 1, 4]]);
  });

  it('given the deadline with agents silent, then it names how many were unsettled', () => {
    const ids = agents(20);
    const out = given(completed(ids), ...ids.slice(0, 10).map((a) => ack(a)), closed());
    assert.deepEqual(out.map((d) => [d.closed_by, d.unsettled_count, d.silent_count]), [['WINDOW_CLOSED', 10, 10]]);
  });

  it('given acks that come before the dispatch summary (first sends answered before the last went out), then they count', () => {
    const ids = agents(3);
    const out = given(ack(ids[0]!), ack(ids[1]!), completed(ids), ack(ids[2]!));
    assert.deepEqual(out.map((d) => [d.at, d.ready_count, d.closed_by]), [[3, 3, 'ALL_ANSWERED']]);
  });

  it('given every agent answered before the summary, then the summary itself decides', () => {
    const ids = agents(2);
    assert.deepEqual(given(ack(ids[0]!), ack(ids[1]!), completed(ids)).map((d) => [d.at, d.decision]), [[2, 'PROCEED']]);
  });

  it('given an agent\'s second ack, an ack of an agent not sent the message, then the first counts and the stranger not at all', () => {
    const ids = agents(2);
    const out = given(completed(ids), ack(ids[0]!, 'CONFLICT'), ack(ids[0]!, 'READY'), ack('stranger'), closed());
    assert.deepEqual(out.map((d) => [d.conflict_count, d.ready_count, d.transit_count, d.total]), [[1, 0, 1, 2]]);
  });

  it('decides exactly once: later acks, deadlines and its own decision read back change nothing', () => {
    const ids = agents(2);
    const first = given(completed(ids), ack(ids[0]!), closed(1));
    const more = given(completed(ids), ack(ids[0]!), closed(1), ack(ids[1]!), closed(2), { ...first[0]!, type: 'QuorumDecided' });
    assert.equal(more.length, 1);
    assert.deepEqual(more, first);
  });

  it('given nothing was sent (all skipped or expired), then the summary decides RETRY at once, NOTHING_SENT', () => {
    const out = given(completed([]));
    assert.deepEqual(out.map((d) => [d.decision, d.closed_by, d.gather_status, d.sent_count, d.retry_advice]), [['RETRY', 'NOTHING_SENT', 'PARTIAL', 0, 'ADJUST_COMPENSATION']]);
  });

  it('names at most 100 stragglers and counts them all', () => {
    const ids = agents(300);
    const d = given(completed(ids), closed())[0]!;
    assert.deepEqual([d.straggler_count, d.straggler_ids.length, d.decision], [300, 100, 'WAIT']);
  });
});
