// The pure parts of the session commands: cost updates as users write them, what `session watch`
// prints and when it stops, and the state `sessions` derives from the log.
import assert from 'node:assert/strict';
import type { ConvergenceReached, IterationCompleted, SessionOpened, SolvermeshEvent } from '../../../schemas/generated/events';
import { checkSessionId, costFromFlags, costFromJson, parseAFlag, parseBFlag } from '../../../services/cli/cost-input';
import { emptySessionLog, foldLogEntry, summarize, type LogEntry } from '../../../services/cli/session-list';
import { costsToCover, deadLetterOf, watchStep } from '../../../services/cli/session-watch';
import { costUpdated } from '../../../services/solver/events';

const SID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const meta = { event_id: SID, correlation_id: SID, causation_id: null, occurred_at: 1_767_225_600_000_000, producer: 'test', sequence: null };

describe('cli cost input', () => {
  it('reads --b i=v and --a i,j,old,new into one update, flushing by default', () => {
    assert.deepEqual(costFromFlags(['12=0.5', '3=-1e-3'], ['7,7,4,4.5'], true), {
      indices: [12, 3], values: [0.5, -0.001], matrix: [{ row: 7, col: 7, old_value: 4, new_value: 4.5 }], flush: true,
    });
  });

  it('refuses flags it cannot read, naming the flag and the expected form', () => {
    assert.throws(() => parseBFlag('12'), /--b "12": expected i=v/);
    assert.throws(() => parseBFlag('-1=2'), /the index must be a non-negative integer/);
    assert.throws(() => parseBFlag('1=NaN'), /the value must be a finite number/);
    assert.throws(() => parseAFlag('1,2,3'), /expected row,col,old,new/);
    assert.throws(() => costFromFlags([], [], true), /nothing to send/);
    assert.throws(() => checkSessionId('session-1'), /must be a session id \(a uuid/);
  });

  it('reads an NDJSON line named like the CostUpdated fields; flush defaults to true', () => {
    assert.deepEqual(costFromJson('{"delta_indices":[1,2],"delta_values":[0.5,-1],"matrix_updates":[{"row":0,"col":1,"old_value":-1,"new_value":-2}]}'), {
      indices: [1, 2], values: [0.5, -1], matrix: [{ row: 0, col: 1, old_value: -1, new_value: -2 }], flush: true,
    });
    assert.equal(costFromJson('{"delta_indices":[1],"delta_values":[0.5],"flush":false}').flush, false);
    assert.deepEqual(costFromJson('{"flush":true}'), { indices: [], values: [], matrix: [], flush: true });
  });

  it('says what is wrong with a bad line', () => {
    assert.throws(() => costFromJson('{"delta_indices":[1]'), /not JSON/);
    assert.throws(() => costFromJson('[1,2]'), /expected a JSON object/);
    assert.throws(() => costFromJson('{"indices":[1]}'), /unknown key "indices"; an update has delta_indices, delta_values, matrix_updates, flush/);
    assert.throws(() => costFromJson('{"delta_indices":[1,2],"delta_values":[0.5]}'), /delta_indices has 2 entries but delta_values has 1/);
    assert.throws(() => costFromJson('{"delta_indices":[1.5],"delta_values":[0.5]}'), /delta_indices\[0\] must be a non-negative integer/);
    assert.throws(() => costFromJson('{"matrix_updates":[{"row":1,"col":1,"new_value":2}]}'), /matrix_updates\[0\] lacks old_value/);
    assert.throws(() => costFromJson('{"delta_indices":[1],"delta_values":[1],"flush":"yes"}'), /flush must be true or false/);
    assert.throws(() => costFromJson('{}'), /changes nothing/);
  });
});

const iteration = (it: number, residual: number, costs: number | null): IterationCompleted => ({
  type: 'IterationCompleted', meta, session_id: SID, iteration: it, iterations_in_batch: 5, n: 4, method: 'CG', residual_norm: residual, convergence_rate: 0.5,
  applied_through: [{ topic: 'solver.sessions', partition: 2, offset: 1 }, ...(costs === null ? [] : [{ topic: 'solver.costs', partition: 2, offset: costs }])],
  x_change_indices: [], x_change_values: [], iteration_time_ms: 0.1, flops: null,
  verified: null, verification_score: null, swarm_consensus: null, swarm_participants: null, verified_iteration: null, verification_interval: null,
});
const converged = (it: number, costs: number | null): ConvergenceReached => ({
  type: 'ConvergenceReached', meta, session_id: SID, iteration: it, residual_norm: 1e-10, tolerance: 1e-8, iterations_below_threshold: 3, swarm_consensus: null,
  verified: null, verification_score: null, swarm_participants: null, verified_iteration: null,
  applied_through: costs === null ? [] : [{ topic: 'solver.costs', partition: 2, offset: costs }],
});

describe('cli session watch', () => {
  it('prints iteration, residual, rate and applied_through per IterationCompleted', () => {
    assert.deepEqual(watchStep(iteration(25, 3.2e-5, 7), { untilConverged: true, costsThrough: new Map() }), {
      line: 'iteration 25 residual 3.200e-5 rate 0.5000 method CG applied_through solver.sessions[2]@1,solver.costs[2]@7',
    });
  });

  it('given cost updates in the log, ends --until-converged only at a convergence that folded them in', () => {
    const o = { untilConverged: true, costsThrough: new Map([[2, 40]]) };
    assert.equal(watchStep(converged(50, 39), o).exit, undefined);
    assert.equal(watchStep(converged(50, null), o).exit, undefined);
    assert.deepEqual(watchStep(converged(90, 40), o).exit, { code: 0, message: `session ${SID} converged at iteration 90` });
    assert.equal(watchStep(converged(90, 40), { untilConverged: false, costsThrough: new Map() }).exit, undefined);
  });

  it('ends with 1 on a rejection, and on a close before convergence with --until-converged', () => {
    const rejected = watchStep({ type: 'SessionRejected', meta, session_id: SID, reason: 'TOO_LARGE', message: 'rows 9 is over 4', limit: 4, actual: 9 }, { untilConverged: false, costsThrough: new Map() });
    assert.equal(rejected.exit?.code, 1);
    const closed = { type: 'SessionClosed' as const, meta, session_id: SID, reason: 'TIMEOUT' as const, final_iteration: 10, final_residual_norm: 0.1, message: 'idle' };
    assert.equal(watchStep(closed, { untilConverged: true, costsThrough: new Map() }).exit?.code, 1);
    assert.equal(watchStep(closed, { untilConverged: false, costsThrough: new Map() }).exit?.code, 0);
  });

  it('reads a dead letter from its headers, and stops waiting for a refused update', () => {
    const dead = deadLetterOf({ 'dlq.source.topic': 't-x.solver.costs', 'dlq.source.partition': '2', 'dlq.source.offset': '41', 'dlq.error.class': 'INDEX_OUT_OF_RANGE', 'dlq.error.message': 'index 9 outside' }, 't-x.');
    assert.deepEqual(dead, { source: { topic: 'solver.costs', partition: 2, offset: 41 }, errorClass: 'INDEX_OUT_OF_RANGE', errorMessage: 'index 9 outside' });
    assert.equal(deadLetterOf({}), undefined);
    assert.deepEqual(costsToCover(new Map([[2, [3, 40, 41]]]), new Set(['2@41'])), new Map([[2, 40]]));
    assert.deepEqual(costsToCover(new Map([[2, [41]]]), new Set(['2@41'])), new Map());
  });
});

describe('cli sessions', () => {
  const opened: SessionOpened = {
    type: 'SessionOpened', meta, session_id: SID, rows: 4, cols: 4, nnz: 10, chunk_count: 1, source_format: 'CSR', method: 'HYBRID', owner: null,
    options: { tolerance: 1e-8, max_iterations: 100, preconditioner: 'JACOBI', verification_interval: 5, swarm: { enabled: false, topology: 'MESH', cost_aggregation: 'WEIGHTED_AVERAGE', verification_strategy: 'RANDOM_PROBE' } },
  };
  const on = (topic: string, offset: number, event?: SolvermeshEvent, key: string | null = SID): LogEntry => ({ topic, partition: 2, offset, key, event });
  const stateAfter = (entries: LogEntry[]) => {
    const log = emptySessionLog();
    for (const e of entries) foldLogEntry(log, e);
    return summarize(log);
  };

  it('given the log of a session, derives opened, converging, converged and the updates applied', () => {
    assert.equal(stateAfter([on('solver.sessions', 0, opened)])[0]!.state, 'opened');
    assert.equal(stateAfter([on('solver.sessions', 0, opened), on('solver.iterations', 0, iteration(5, 0.1, null))])[0]!.state, 'converging');
    const done = stateAfter([on('solver.sessions', 0, opened), on('solver.iterations', 0, iteration(5, 1e-10, null)), on('solver.iterations', 1, converged(5, null))])[0]!;
    assert.equal(done.state, 'converged');
    assert.equal(done.running, 'CG');
    const cost = costUpdated(SID, 0, {});
    const costs = [on('solver.costs', 3, cost), on('solver.costs', 9, cost)];
    const pending = stateAfter([on('solver.sessions', 0, opened), on('solver.iterations', 0, iteration(5, 1e-10, 3)), on('solver.iterations', 1, converged(5, 3)), ...costs])[0]!;
    assert.deepEqual([pending.state, pending.updates_applied, pending.updates_sent], ['converging', 1, 2]);
    const caughtUp = stateAfter([on('solver.sessions', 0, opened), ...costs, on('solver.iterations', 2, iteration(9, 1e-10, 9)), on('solver.iterations', 3, converged(9, 9))])[0]!;
    assert.deepEqual([caughtUp.state, caughtUp.updates_applied, caughtUp.iteration], ['converged', 2, 9]);
    // A refused update is never applied: it does not hold the session in converging.
    const refused = stateAfter([on('solver.sessions', 0, opened), ...costs, { ...on('solver.costs', 10, cost), deadLettered: true }, on('solver.costs', 11, { type: 'VerificationRequested', meta, session_id: SID, requested_by: 'test', probe_count: 1, probe_size: 1, seed: 1 }), on('solver.iterations', 2, iteration(9, 1e-10, 9)), on('solver.iterations', 3, converged(9, 9))])[0]!;
    assert.deepEqual([refused.state, refused.updates_applied, refused.updates_sent, refused.updates_dead_lettered], ['converged', 2, 3, 1]);
  });

  it('a rejection or a close wins over everything else, and costs for a session never opened show as unopened', () => {
    const rejected = stateAfter([on('solver.sessions', 0, opened), on('solver.sessions', 1, { type: 'SessionRejected', meta, session_id: SID, reason: 'TOO_LARGE', message: 'rows', limit: 1, actual: 4 })])[0]!;
    assert.deepEqual([rejected.state, rejected.reason], ['rejected', 'TOO_LARGE: rows']);
    const closed = stateAfter([on('solver.sessions', 0, opened), on('solver.iterations', 0, converged(5, null)), on('solver.sessions', 1, { type: 'SessionClosed', meta, session_id: SID, reason: 'TIMEOUT', final_iteration: 5, final_residual_norm: 1e-9, message: null })])[0]!;
    assert.equal(closed.state, 'closed');
    assert.equal(stateAfter([on('solver.costs', 0, costUpdated(SID, 0, {}))])[0]!.state, 'unopened');
  });
});
