// `solvermesh session verify` as a fold: given what the log holds after the request, in any
// order, then the verdict, its lines and the exit code a script reads.
import assert from 'node:assert/strict';
import type { ConsensusNotReached, ConsensusReached, SolutionPublished, VerificationCompleted } from '../../../schemas/generated/events';
import { derivedEventId } from '../../../services/runtime/ids';
import { VERIFY_EXIT, foldVerify, newVerifyState, settled, verdictOf, type VerifyEvent } from '../../../services/cli/session-verify';
import { watchStep } from '../../../services/cli/session-watch';

const SID = '6f1c1d1e-0000-4000-8000-0000000000d1';
const REQUEST = 'req-1';
const meta = (id: string, causation: string | null) => ({ event_id: id, correlation_id: SID, causation_id: causation, occurred_at: 1, producer: 'x', sequence: null });

const solution = (iteration: number, causation: string, id = `sol-${iteration}`): SolutionPublished => ({
  type: 'SolutionPublished', meta: meta(id, causation), session_id: SID, iteration, n: 4, chunk_index: 0, chunk_count: 1, offset: 0, values: Buffer.alloc(32), applied_through: [],
});
const check = (group: string, cause: string, verified = true): VerificationCompleted => ({
  type: 'VerificationCompleted', meta: meta(`v-${group}-${cause}`, cause), session_id: SID, verifier_id: group, probe_id: 'p', iteration: 42, n: 4,
  probe_indices: [0, 1, 2, 3], residual_components: [0, 0, 0, 0], max_error: verified ? 1e-12 : 1, mean_error: 0, tolerance: 1e-8, verified,
  drift_detected: false, drift_severity: 0, stagnation_detected: false, divergence_detected: false, next_interval: 11, verification_time_ms: 0.1,
});
const reached = (iteration: number, outcome: 'VERIFIED' | 'REJECTED' = 'VERIFIED'): ConsensusReached => ({
  type: 'ConsensusReached', meta: meta(`c-${iteration}`, null), session_id: SID, iteration, outcome, participants: 3, threshold: 3, agreeing: 3,
  agreement_level: 1, outlier_verifier_ids: [], verified_votes: outcome === 'VERIFIED' ? 3 : 0, next_interval: 11,
});
const none = (iteration: number): ConsensusNotReached => ({
  type: 'ConsensusNotReached', meta: meta(`n-${iteration}`, null), session_id: SID, iteration, participants: 3, threshold: 3, verified_votes: 1, rejected_votes: 1, voter_ids: ['g1', 'g2'],
});

const copy = derivedEventId(REQUEST, 'sequenced');
function after(events: VerifyEvent[]) {
  const s = newVerifyState(REQUEST);
  for (const e of events) foldVerify(s, e);
  return s;
}

describe('solvermesh session verify: the verdict from the log', () => {
  it('given the solution published for the request, three checks and a VERIFIED consensus on its iteration (read before the rest), then exit 0 with one line per group', () => {
    const s = after([reached(42), solution(42, copy), check('g2', 'sol-42'), check('g1', 'sol-42'), check('g3', 'sol-42')]);
    assert.ok(settled(s));
    const v = verdictOf(s, SID, false);
    assert.equal(v.code, VERIFY_EXIT.verified);
    assert.match(v.message, /verified at iteration 42 by 3 of 3 groups/);
    assert.equal(v.lines.length, 5);
    assert.match(v.lines[1]!, /verification g1 at iteration 42: verified max_error 1\.000e-12/);
    assert.match(v.lines[4]!, /consensus at iteration 42: VERIFIED by 3 of 3 groups \(3 needed, agreement 1\.00\), next interval 11/);
  });

  it('ignores solutions, checks and rounds that are not the request\'s', () => {
    const s = after([solution(40, 'other-cause', 'sol-40'), check('g1', 'sol-40'), reached(40), solution(42, copy), check('g1', 'sol-42')]);
    assert.equal(s.solution?.iteration, 42);
    assert.equal(settled(s), false);
    const v = verdictOf(s, SID, true);
    assert.equal(v.code, VERIFY_EXIT.timedOut);
    assert.match(v.message, /1 group\(s\) checked it, but no consensus came/);
  });

  it('exits 1 on REJECTED, 2 when the round closed without agreement, 3 with no solution at all', () => {
    const checks = ['g1', 'g2', 'g3'].map((g) => check(g, 'sol-42', false));
    assert.equal(verdictOf(after([solution(42, copy), ...checks, reached(42, 'REJECTED')]), SID, false).code, VERIFY_EXIT.rejected);
    const undecided = verdictOf(after([solution(42, copy), ...checks, none(42)]), SID, false);
    assert.equal(undecided.code, VERIFY_EXIT.noConsensus);
    assert.match(undecided.lines.at(-1)!, /no consensus at iteration 42: 1 verified, 1 rejected of 3 groups/);
    const nothing = verdictOf(after([]), SID, true);
    assert.equal(nothing.code, VERIFY_EXIT.timedOut);
    assert.match(nothing.message, /published no solution/);
    assert.notEqual(VERIFY_EXIT.rejected, 0);
  });

  it('given the consensus but a group missing when the wait ended, then the verdict stands and says so', () => {
    const v = verdictOf(after([solution(42, copy), check('g1', 'sol-42'), check('g2', 'sol-42'), reached(42)]), SID, true);
    assert.equal(v.code, VERIFY_EXIT.verified);
    assert.match(v.message, /1 group\(s\) did not report in time/);
  });

  it('session watch shows checks and the consensus beside iterations', () => {
    const o = { untilConverged: false, costsThrough: new Map() };
    assert.match(watchStep(check('g1', 'sol-42', false), o).line!, /verification g1 at iteration 42: FAILED max_error 1\.000e\+0/);
    assert.match(watchStep(reached(42), o).line!, /consensus at iteration 42: VERIFIED by 3 of 3/);
    assert.match(watchStep(none(42), o).line!, /no consensus at iteration 42/);
    const fault = { type: 'VerifierFaultReported' as const, meta: meta('f', null), session_id: SID, iteration: 42, verifier_id: 'g4', fault: 'OUTVOTED' as const, detail: 'voted rejected' };
    assert.equal(watchStep(fault, o).line, 'verifier g4 OUTVOTED at iteration 42: voted rejected');
    const it = {
      type: 'IterationCompleted' as const, meta: meta('i', null), session_id: SID, applied_through: [], iteration: 64, iterations_in_batch: 11, n: 4, method: 'CG' as const,
      residual_norm: 1e-3, convergence_rate: 0.5, x_change_indices: [], x_change_values: [], iteration_time_ms: 0.1, flops: null,
      verified: true, verification_score: 1, swarm_consensus: 0.75, swarm_participants: 4, verified_iteration: 42, verification_interval: 11,
    };
    assert.match(watchStep(it, o).line!, /method CG interval 11 verified yes@42 agreement 0\.75 applied_through/);
    assert.match(watchStep({ ...it, verified: null, verification_interval: 10 }, o).line!, /method CG interval 10 applied_through/);
  });
});
