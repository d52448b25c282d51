import assert from 'node:assert/strict';
import type {
  AckReceived, ConflictDeadlinePassed, ConflictReported, ConflictResolutionRequested, ConflictType, ResolutionMethod,
} from '../../../schemas/generated/events';
import { ConflictBook } from '../../../services/coordinator/conflict-book';
import { reportOfAck, step, UNKNOWN, type ConflictFact, type ConflictInput, type ConflictState } from '../../../services/coordinator/conflict-lifecycle';
import { derivedEventId } from '../../../services/runtime/ids';
import { conflictReported } from '../../support/events';

const S = 1_000_000;

// given/when/then over one conflict: the given inputs are folded with the decider itself.
function given(...inputs: ConflictInput[]) {
  const state = inputs.reduce<ConflictState>((s, i) => step(s, i).state, UNKNOWN);
  return {
    when: (input: ConflictInput) => ({
      then: (check: (facts: ConflictFact[]) => void) => check(step(state, input).facts),
    }),
  };
}

const report = (type: ConflictType, extra: { divergence_depth?: number; affects_agent_count?: number } = {}) => conflictReported(1, { conflict_type: type, ...extra });
const T0 = report('OTHER').meta.occurred_at;

function deadline(r: ConflictReported, atUs: number, resolveBy: number): ConflictDeadlinePassed {
  return {
    type: 'ConflictDeadlinePassed',
    meta: { event_id: derivedEventId(r.conflict_id, `deadline@${atUs}`), correlation_id: r.conflict_id, causation_id: null, occurred_at: atUs, producer: 'test', sequence: null },
    conflict_id: r.conflict_id, resolve_by: resolveBy,
  };
}

function resolve(r: ConflictReported, operator: string, o: { method?: ResolutionMethod; value?: string; notes?: string } = {}): ConflictResolutionRequested {
  return {
    type: 'ConflictResolutionRequested',
    meta: { event_id: derivedEventId(r.conflict_id, `resolve:${operator}`), correlation_id: r.conflict_id, causation_id: null, occurred_at: T0 + 5 * S, producer: 'test', sequence: null },
    conflict_id: r.conflict_id, operator, method: o.method ?? null, resolved_value: o.value ?? null, notes: o.notes ?? null,
  };
}

const kinds = (facts: ConflictFact[]) => facts.map((f) => (f.type === 'ConflictEscalated' ? `${f.type}:${f.level}` : f.type === 'ConflictResolved' ? `${f.type}:${f.outcome}` : f.type));

describe('conflict lifecycle (seed 002 §5.1): reported, quarantined, overdue, resolved', () => {
  describe('intake from acks', () => {
    const ack = (state: AckReceived['state'], id: string): AckReceived => ({
      type: 'AckReceived',
      meta: { event_id: id, correlation_id: 'corr-9', causation_id: null, occurred_at: T0, producer: 'agent', sequence: null },
      message_id: 'msg-9', agent_id: 'agent-9', state, actual_arrival_at: T0, expected_arrival_at: null, processing_ms: 3,
      conflict: state === 'CONFLICT' ? report('DATA_CONTRADICTION').detail : null, payload_hash: null, sender_seq: null, signature: null,
    });

    it('given a CONFLICT ack, then it is logged as ConflictReported with a conflict id derived from the ack, its detail and event time', () => {
      const a = ack('CONFLICT', '00000000-0000-4000-8000-000000000009');
      const r = reportOfAck(a)!;
      assert.equal(r.type, 'ConflictReported');
      assert.equal(r.conflict_id, derivedEventId(a.meta.event_id, 'conflict'));
      assert.deepEqual([r.agent_id, r.message_id, r.meta.correlation_id, r.meta.causation_id, r.meta.occurred_at], ['agent-9', 'msg-9', 'corr-9', a.meta.event_id, T0]);
      assert.deepEqual(r.detail, a.conflict);
      assert.deepEqual(reportOfAck(a), r, 'a re-sent ack names the same conflict');
    });

    it('given READY and TRANSIT acks, then nothing is logged', () => {
      assert.equal(reportOfAck(ack('READY', '00000000-0000-4000-8000-00000000000a')), undefined);
      assert.equal(reportOfAck(ack('TRANSIT', '00000000-0000-4000-8000-00000000000b')), undefined);
    });
  });

  it('given nothing, when a medium DATA_CONTRADICTION is reported, then it is quarantined at priority 2 with PROVENANCE_TRACE, due in 10 min, and stays open', () => {
    const r = report('DATA_CONTRADICTION', { affects_agent_count: 40 });
    given().when(r).then((facts) => {
      assert.deepEqual(kinds(facts), ['ConflictQuarantined']);
      const q = facts[0]!;
      assert.ok(q.type === 'ConflictQuarantined');
      assert.equal(q.priority, 2);
      assert.equal(q.suggested_strategy.method, 'PROVENANCE_TRACE');
      assert.equal(q.resolve_by, T0 + 600 * S);
    });
  });

  it('given nothing, when a CAPABILITY_MISMATCH is reported, then it is quarantined at priority 1 and resolved at once by its REROUTE strategy (the message withdrawn)', () => {
    given().when(report('CAPABILITY_MISMATCH')).then((facts) => {
      assert.deepEqual(kinds(facts), ['ConflictQuarantined', 'ConflictResolved:DISCARDED']);
      const res = facts[1]!;
      assert.ok(res.type === 'ConflictResolved');
      assert.equal(res.method, 'REROUTE');
      assert.equal(res.resolved_by, 'coordinator');
    });
  });

  it('given a reported conflict, when it is reported again (a re-sent ack), then nothing new is decided', () => {
    const r = report('DATA_CONTRADICTION');
    given(r).when(r).then((facts) => assert.deepEqual(facts, []));
  });

  describe('resolve_by deadlines in event time', () => {
    const r = report('DATA_CONTRADICTION', { affects_agent_count: 40 });
    const due = T0 + 600 * S;

    it('given an open priority 2 conflict, when a deadline record from 1 s before resolve_by comes, then nothing happens', () => {
      given(r).when(deadline(r, due - S, due)).then((facts) => assert.deepEqual(facts, []));
    });

    it('given an open priority 2 conflict, when a deadline record at resolve_by comes, then it escalates once to the sector coordinator as overdue', () => {
      given(r).when(deadline(r, due, due)).then((facts) => {
        assert.deepEqual(kinds(facts), ['ConflictEscalated:SECTOR_COORDINATOR']);
        const e = facts[0]!;
        assert.ok(e.type === 'ConflictEscalated');
        assert.equal(e.priority, 2);
        assert.equal(e.sector_id, 'sector-1');
        assert.match(e.reason, /^overdue: priority 2 DATA_CONTRADICTION conflict from agent agent-1 unresolved 0 s after its resolve_by/);
        assert.equal(e.meta.occurred_at, due);
      });
      given(r, deadline(r, due, due)).when(deadline(r, due + 60 * S, due)).then((facts) => assert.deepEqual(facts, [], 'the first deadline counts'));
    });

    it('given a priority 3 conflict already escalated to the sector, when it is overdue (1 min), then it escalates to the orchestrator', () => {
      const deep = report('CONTEXT_DIVERGENCE', { divergence_depth: 11 });
      given().when(deep).then((facts) => assert.deepEqual(kinds(facts), ['ConflictQuarantined', 'ConflictEscalated:SECTOR_COORDINATOR']));
      given(deep).when(deadline(deep, T0 + 60 * S, T0 + 60 * S)).then((facts) => assert.deepEqual(kinds(facts), ['ConflictEscalated:ORCHESTRATOR']));
    });

    it('given a priority 4 TEMPORAL_PARADOX (resolve_by = its report time), when a deadline record comes, then the orchestrator hears once more that it is overdue', () => {
      const p = report('TEMPORAL_PARADOX');
      given().when(p).then((facts) => assert.deepEqual(kinds(facts), ['ConflictQuarantined', 'ConflictEscalated:SECTOR_COORDINATOR', 'ConflictEscalated:ORCHESTRATOR']));
      given(p).when(deadline(p, T0, T0)).then((facts) => assert.deepEqual(kinds(facts), ['ConflictEscalated:ORCHESTRATOR']));
      given(p, deadline(p, T0, T0)).when(deadline(p, T0 + S, T0)).then((facts) => assert.deepEqual(facts, []));
    });

    it('given a conflict resolved before its deadline record lands, then the deadline changes nothing', () => {
      given(r, resolve(r, 'cecilia')).when(deadline(r, due, due)).then((facts) => assert.deepEqual(facts, []));
    });

    it('given a deadline record for a conflict never reported here, then nothing happens', () => {
      given().when(deadline(r, due, due)).then((facts) => assert.deepEqual(facts, []));
    });
  });

  describe('resolution by an operator', () => {
    const r = report('CONTEXT_DIVERGENCE', { divergence_depth: 3 });

    it('given an open conflict, when an operator resolves it, then ConflictResolved names the operator, the suggested method, the note, and the command as its cause', () => {
      const cmd = resolve(r, 'cecilia', { notes: 'branches merged', value: '42' });
      given(r).when(cmd).then((facts) => {
        assert.deepEqual(kinds(facts), ['ConflictResolved:RESOLVED']);
        const res = facts[0]!;
        assert.ok(res.type === 'ConflictResolved');
        assert.deepEqual([res.resolved_by, res.method, res.notes, res.resolved_value, res.meta.causation_id, res.meta.correlation_id], ['cecilia', 'BRANCH_AND_RECONCILE', 'branches merged', '42', cmd.meta.event_id, r.meta.correlation_id]);
      });
    });

    it('given an open conflict, when the operator names another method, then that method is recorded', () => {
      given(r).when(resolve(r, 'cecilia', { method: 'MANUAL_REVIEW' })).then((facts) => {
        assert.ok(facts[0]?.type === 'ConflictResolved');
        assert.equal(facts[0].method, 'MANUAL_REVIEW');
      });
    });

    it('given an overdue conflict, when an operator resolves it, then it is resolved', () => {
      const due = T0 + 600 * S;
      given(r, deadline(r, due, due)).when(resolve(r, 'ops')).then((facts) => assert.deepEqual(kinds(facts), ['ConflictResolved:RESOLVED']));
    });

    it('given a resolved conflict or an unknown one, when an operator resolves it, then nothing happens', () => {
      given(r, resolve(r, 'first')).when(resolve(r, 'second')).then((facts) => assert.deepEqual(facts, []));
      given().when(resolve(r, 'ops')).then((facts) => assert.deepEqual(facts, []));
      given(report('CAPABILITY_MISMATCH')).when(resolve(report('CAPABILITY_MISMATCH'), 'ops')).then((facts) => assert.deepEqual(facts, [], 'resolved by strategy already'));
    });
  });

  it('replays to identical facts: ids, causation and event time come from the inputs', () => {
    const r = report('TEMPORAL_PARADOX');
    const run = () => [r, deadline(r, T0 + S, T0), resolve(r, 'ops')].reduce<{ s: ConflictState; out: ConflictFact[] }>(
      (acc, i) => { const x = step(acc.s, i); return { s: x.state, out: [...acc.out, ...x.facts] }; }, { s: UNKNOWN, out: [] }).out;
    const once = run();
    assert.deepEqual(run(), once);
    assert.equal(new Set(once.map((f) => f.meta.event_id)).size, once.length);
  });

  it('the resolution queue of a partition: open conflicts, most urgent first (priority, then resolve_by); resolved ones leave it', () => {
    const book = new ConflictBook();
    const a = conflictReported(10, { conflict_type: 'DATA_CONTRADICTION' }); // p2, +10 min
    const b = conflictReported(11, { conflict_type: 'TEMPORAL_PARADOX' }); // p4, now
    const c = conflictReported(12, { conflict_type: 'CONTEXT_DIVERGENCE', divergence_depth: 1 }); // p2, +10 min, 2 ms later
    const d = conflictReported(13, { conflict_type: 'CAPABILITY_MISMATCH' }); // resolved by strategy
    for (const x of [a, b, c, d]) book.apply(x);
    assert.deepEqual(book.queue().map((q) => [q.conflictId, q.priority]), [['conflict-11', 4], ['conflict-10', 2], ['conflict-12', 2]]);
    book.apply(resolve(b, 'ops'));
    assert.deepEqual(book.queue().map((q) => q.conflictId), ['conflict-10', 'conflict-12']);
    assert.equal(book.state('conflict-13').status, 'resolved');
  });
});
