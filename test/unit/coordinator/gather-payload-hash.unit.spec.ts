import assert from 'node:assert/strict';
import type { AckReceived, DispatchCompleted, MessageSignature, TrinaryState } from '../../../schemas/generated/events';
import { decide, evolve, hashMismatch, NO_GATHER, quorumEvent, refusedAcks, type Gather, type GatherInput } from '../../../services/coordinator/gather';
import { SEED_THRESHOLDS } from '../../../services/coordinator/quorum';
import { payloadMismatchReport } from '../../../services/identity/reports';

// Given/when/then: an ack is counted only when it names the payload_hash of the message sent
// (issue 20: "payload_hash on acks is verified against the message sent").
const T = 1_767_225_600_000_000;
const MS = 1000;
const SENT = 'sha256-of-the-payload-sent';
const meta = (id: string, at: number) => ({ event_id: id, correlation_id: 'corr-h', causation_id: null, occurred_at: at, producer: 'spec', sequence: null });
const sig: MessageSignature = { key_id: 'k1', sig: Buffer.alloc(64) };

const completed = (ids: string[], hash: string | null = SENT): DispatchCompleted => ({
  type: 'DispatchCompleted', meta: meta('done', T - 10 * MS), message_id: 'm1', target_arrival_time: T, arrival_window_ms: 500,
  minimum_response_rate: 0.95, dispatched_agent_ids: ids, expired: [], skipped_count: 0, payload_hash: hash, expired_count: 0, applied_through: null,
});
const ack = (agent: string, hash: string | null, n = 0, state: TrinaryState = 'READY'): AckReceived => ({
  type: 'AckReceived', meta: meta(`ack-${agent}-${n}`, T + n * MS), message_id: 'm1', agent_id: agent, state,
  actual_arrival_at: T + n * MS, expected_arrival_at: T, processing_ms: 10, conflict: null, payload_hash: hash, sender_seq: n + 1, signature: sig,
});

/** Folds the inputs: the decisions and the acks refused, each with the index of the input. */
function given(...inputs: GatherInput[]) {
  let g: Gather = NO_GATHER;
  const decisions: Array<{ at: number; ready: number; decision: string; closedBy: string | null }> = [];
  const refused: Array<{ at: number; id: string }> = [];
  inputs.forEach((e, i) => {
    for (const a of refusedAcks(g, e)) refused.push({ at: i, id: a.meta.event_id });
    for (const d of decide(g, e, SEED_THRESHOLDS)) {
      const q = quorumEvent(e, d, SEED_THRESHOLDS, null);
      decisions.push({ at: i, ready: q.ready_count, decision: q.decision, closedBy: q.closed_by });
    }
    g = evolve(g, e, SEED_THRESHOLDS);
  });
  return { decisions, refused };
}

describe('gather: payload_hash of acks against the message sent', () => {
  it('hashMismatch: only two known, different hashes mismatch (a null side is not checked: older agents or dispatchers)', () => {
    assert.equal(hashMismatch({ payloadHash: SENT }, 'other'), true);
    assert.equal(hashMismatch({ payloadHash: SENT }, SENT), false);
    assert.equal(hashMismatch({ payloadHash: SENT }, null), false);
    assert.equal(hashMismatch({ payloadHash: null }, 'other'), false);
  });

  it('given 2 agents sent the message, when one READY ack names another payload, then it is refused, not counted, and the gather waits for a true ack from that agent', () => {
    const { decisions, refused } = given(completed(['A', 'B']), ack('A', SENT), ack('B', 'forged-payload', 1), ack('B', SENT, 2));
    assert.deepEqual(refused, [{ at: 2, id: 'ack-B-1' }]);
    assert.deepEqual(decisions, [{ at: 3, ready: 2, decision: 'PROCEED', closedBy: 'ALL_ANSWERED' }], 'decided by the true ack, not the refused one');
  });

  it('given a wrong ack is the only answer, when the window closes, then the agent counts as silent', () => {
    const closed = { type: 'GatherWindowClosed' as const, meta: meta('closed', T + 1500 * MS), message_id: 'm1', window_end_at: T + 500 * MS, grace_ms: 1000 };
    const { decisions } = given(completed(['A', 'B']), ack('A', SENT), ack('B', 'forged-payload', 1), closed);
    assert.deepEqual(decisions.map((d) => [d.at, d.ready, d.closedBy]), [[3, 1, 'WINDOW_CLOSED']]);
  });

  it('given acks before the dispatch summary, when the summary names the payload sent, then the early wrong one is refused at the summary and not counted', () => {
    const { decisions, refused } = given(ack('A', SENT), ack('B', 'forged-payload', 1), completed(['A', 'B']), ack('B', SENT, 2));
    assert.deepEqual(refused, [{ at: 2, id: 'ack-B-1' }]);
    assert.deepEqual(decisions, [{ at: 3, ready: 2, decision: 'PROCEED', closedBy: 'ALL_ANSWERED' }]);
  });

  it('given a dispatch summary without a hash (an older dispatcher), when acks name any hash, then they count as before', () => {
    const { decisions, refused } = given(completed(['A', 'B'], null), ack('A', 'x'), ack('B', 'y', 1));
    assert.deepEqual(refused, []);
    assert.deepEqual(decisions.map((d) => [d.at, d.ready]), [[2, 2]]);
  });

  it('the report: a HASH_MISMATCH conflict naming the agent, PAYLOAD_HASH_MISMATCH evidence, own_key as given; same ids for the same ack', () => {
    const a = ack('B', 'forged-payload', 1);
    const r = payloadMismatchReport(a, SENT, true, { topic: 'mesh.acks', partition: 3, offset: '17' }, 'coordinator');
    assert.equal(r.detail.conflict_type, 'HASH_MISMATCH');
    assert.equal(r.agent_id, 'B');
    assert.deepEqual([r.forgery?.reason, r.forgery?.own_key, r.forgery?.source_offset, r.forgery?.claimed_key_id], ['PAYLOAD_HASH_MISMATCH', true, 17, 'k1']);
    assert.match(r.detail.received_value ?? "", /forged-payload.*sha256-of-the-payload-sent/);
    assert.equal(payloadMismatchReport(a, SENT, true, { topic: 'mesh.acks', partition: 3, offset: '17' }, 'coordinator').conflict_id, r.conflict_id);
    const early = payloadMismatchReport(a, SENT, false, { topic: 'mesh.acks', partition: 3, offset: null }, 'coordinator');
    assert.equal(early.forgery?.source_offset, -1);
    assert.notEqual(early.conflict_id, r.conflict_id);
  });
});
