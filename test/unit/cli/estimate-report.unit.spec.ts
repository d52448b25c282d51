// Given an EntryEstimated and the session's outputs, when `solvermesh estimate` reports, then
// x_i comes from the newest solution chunk holding row i (else an iteration that carries it),
// and |diff| is set against the bound.
import assert from 'node:assert/strict';
import type { EntryEstimated, IterationCompleted, SolutionPublished } from '../../../schemas/generated/events';
import { packFloat64 } from '../../../schemas/packed';
import { estimateReport, referenceValue } from '../../../services/cli/estimate-report';

const SID = '6f1c1d1e-0000-4000-8000-0000000000aa';
const meta = { event_id: 'e', correlation_id: SID, causation_id: null, occurred_at: 0, producer: 'test', sequence: null };

const chunk = (iteration: number, offset: number, values: number[]): SolutionPublished => ({
  type: 'SolutionPublished', meta, session_id: SID, iteration, n: 10, chunk_index: offset / 5, chunk_count: 2, offset,
  values: packFloat64(Float64Array.from(values)), applied_through: [],
});
const iteration = (it: number, indices: number[], values: number[]): IterationCompleted => ({
  type: 'IterationCompleted', meta, session_id: SID, applied_through: [], iteration: it, iterations_in_batch: 1, n: 10, method: 'CG',
  residual_norm: 1e-9, convergence_rate: 0.5, x_change_indices: indices, x_change_values: values, iteration_time_ms: 0, flops: null,
  verified: null, verification_score: null, swarm_consensus: null, swarm_participants: null, verified_iteration: null, verification_interval: null,
});
const estimated = (estimate: number, bound: number): EntryEstimated => ({
  type: 'EntryEstimated', meta, session_id: SID, applied_through: [{ topic: 'solver.costs', partition: 2, offset: 7 }], index: 7, n: 10,
  estimate, error_bound: bound, confidence: 1, method: 'LOCAL_PUSH', work: 12, refusal: null,
});

describe('cli: the estimate report', () => {
  it('given two solutions, when row 7 is asked, then the newer one\'s second chunk gives x_7', () => {
    const sols = [chunk(20, 5, [0, 0, 2.5, 0, 0]), chunk(10, 5, [0, 0, 1, 0, 0]), chunk(20, 0, [9, 9, 9, 9, 9])];
    assert.deepEqual(referenceValue(7, sols, [iteration(30, [7], [3])]), { value: 2.5, iteration: 20, from: 'SolutionPublished' });
  });

  it('given no solution, then the newest iteration carrying i gives it, and none at all gives undefined', () => {
    assert.deepEqual(referenceValue(7, [], [iteration(3, [7], [1.5]), iteration(5, [1, 7], [0, 1.75]), iteration(6, [1], [0])]), { value: 1.75, iteration: 5, from: 'IterationCompleted' });
    assert.equal(referenceValue(7, [], [iteration(6, [1], [0])]), undefined);
  });

  it('given an estimate within / beyond its bound of x_i, then the report says which', () => {
    const ref = { value: 2.5, iteration: 20, from: 'SolutionPublished' as const };
    const near = estimateReport(estimated(2.5 + 1e-9, 1e-8), ref);
    assert.equal(near.withinBound, true);
    assert.ok(near.lines.some((l) => /^\|diff\|\s+1\.000e-9\s+within the bound/.test(l)), near.lines.join('\n'));
    assert.ok(near.lines.some((l) => l.includes('solver.costs[2]@7')));
    assert.equal(estimateReport(estimated(2.6, 1e-8), ref).withinBound, false);
    assert.equal(estimateReport(estimated(2.6, 1e-8), undefined).withinBound, undefined);
  });
});
