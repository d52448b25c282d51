// Given a session, when an EntryEstimateRequested is sequenced among its cost updates, then the
// solver answers EntryEstimated for A and b as of that position, within the bound of the exact
// x_i, the same on every refold, without changing the solve's later iterations; a request that
// can never be answered is refused before it is folded.
import assert from 'node:assert/strict';
import type { EntryEstimated, EntryEstimateRequested, EstimateMethod, IterationCompleted } from '../../../schemas/generated/events';
import { costStream, openSession } from '../../../services/solver/events';
import { InputRejected, PartitionCore, DEFAULT_SOLVER_LIMITS } from '../../../services/solver/domain';
import { sequencedId } from '../../../services/solver/outputs';
import { derivedEventId } from '../../../services/runtime/ids';
import { SolverSession, wasmKernel, type Csr } from '../../../wasm';
import { poisson2d, smoothRhs } from '../../../wasm/src/problems';
import { refOf, run, toLog, type Logged } from './harness';

const SID = '6f1c1d1e-0000-4000-8000-0000000000e5';
const A = poisson2d(12); // diagonal 4.1 against 4 off it: strictly dominant
const B = smoothRhs(A.n);

function request(index: number, method: EstimateMethod = 'LOCAL_PUSH', eps = 1e-8): EntryEstimateRequested {
  return {
    type: 'EntryEstimateRequested',
    meta: { event_id: derivedEventId(SID, `estimate:${index}:${method}`), correlation_id: SID, causation_id: null, occurred_at: 1_767_225_600_000_000, producer: 'test', sequence: null },
    session_id: SID, requested_by: 'test', index, eps, method, walks: 4000, delta: 1e-3, seed: 7,
  };
}

function exact(a: Csr, b: Float64Array): Float64Array {
  const s = SolverSession.open(a, 'reference');
  try {
    s.setB(b);
    s.configure({ method: 'cg', tol: 1e-14, precond: 'jacobi' });
    assert.equal(s.iterate(10_000).status, 'converged');
    return s.readX();
  } finally {
    s.free();
  }
}

const answers = (outs: ReturnType<typeof run>['outputs']) => outs.flatMap((o) => (o.event.type === 'EntryEstimated' ? [o.event] : []));
const iterations = (outs: ReturnType<typeof run>['outputs']) => outs.flatMap((o) => (o.event.type === 'IterationCompleted' ? [o.event] : []));

describe('solver: single-entry estimates (EntryEstimateRequested -> EntryEstimated)', () => {
  const x = exact(A, B);

  it('given a push request, then the answer is caused by it, names its position, and lies within its bound of the exact x_i', () => {
    const req = request(17);
    const { outputs } = run(toLog([...openSession(SID, A, B), req]), { batch: 3, sliceWork: 1_000_000 });
    const [e] = answers(outputs);
    assert.ok(e, 'an EntryEstimated');
    assert.equal(e.meta.causation_id, sequencedId(req.meta.event_id), 'caused by its copy on the cost partition');
    assert.ok(e.applied_through.some((p) => p.topic === 'solver.costs'), 'its sequenced position');
    assert.deepEqual([e.index, e.n, e.method, e.confidence, e.refusal], [17, A.n, 'LOCAL_PUSH', 1, null]);
    assert.ok(e.error_bound <= 1e-8 && e.work > 0);
    assert.ok(Math.abs(e.estimate - x[17]!) <= e.error_bound, `|${e.estimate} - ${x[17]}| > ${e.error_bound}`);
  });

  it('given a walk request, then the bound holds at confidence 1 - delta, and the same inputs give the same answer bit for bit', () => {
    const log = toLog([...openSession(SID, A, B), request(40, 'RANDOM_WALK_NEUMANN', 0.05)]);
    const [a] = answers(run(log, { batch: 1, sliceWork: 50_000 }).outputs);
    const [b] = answers(run(log, { batch: 50, sliceWork: 5_000_000, shuffleTopics: true }).outputs);
    assert.ok(a && b);
    assert.deepStrictEqual(b, a);
    assert.equal(a.confidence, 1 - 1e-3);
    assert.ok(Math.abs(a.estimate - x[40]!) <= a.error_bound);
  });

  it('given an estimate between two cost groups, then the iterations after it are those of the same log without it', () => {
    const limits = { minGroupIntervalMicros: 0 };
    const costs = costStream(SID, A.n, 40, 10);
    const sessions = openSession(SID, A, B, { verificationInterval: 5 }).map((event, offset): Logged => ({ topic: 'solver.sessions', offset, event }));
    const onCosts = (events: Logged['event'][]) => events.map((event, offset): Logged => ({ topic: 'solver.costs', offset, event }));
    const withIt = run([...sessions, ...onCosts([...costs.slice(0, 20), request(5), ...costs.slice(20)])], { batch: 4, sliceWork: 1_000_000, limits, resequence: false }).outputs;
    const without = run([...sessions, ...onCosts(costs)], { batch: 4, sliceWork: 1_000_000, limits, resequence: false }).outputs;
    assert.equal(answers(withIt).length, 1);
    const facts = (its: IterationCompleted[]) => its.map((i) => [i.iteration, i.residual_norm, i.x_change_indices, i.x_change_values]);
    assert.ok(iterations(without).length > 4);
    assert.deepStrictEqual(facts(iterations(withIt)), facts(iterations(without)));
  });

  it('given a matrix that is not strictly diagonally dominant, then the answer is a refusal that claims nothing', () => {
    const weak = poisson2d(12, 0);
    const { outputs } = run(toLog([...openSession(SID, weak, smoothRhs(weak.n)), request(3)]), { batch: 5, sliceWork: 1_000_000 });
    const [e] = answers(outputs) as [EntryEstimated];
    assert.match(e.refusal ?? '', /not strictly diagonally dominant/);
    assert.deepEqual([e.estimate, e.error_bound, e.confidence, e.work], [0, 0, 0, 0]);
  });

  it('given an index out of range or a closed session, then the request is refused before it is folded, with the reason', () => {
    const core = new PartitionCore(0, DEFAULT_SOLVER_LIMITS, wasmKernel());
    const log = toLog(openSession(SID, A, B));
    for (const l of log) { core.check(l.event); core.fold(l.event, refOf(l)); }
    assert.throws(() => core.check(request(A.n)), (err: unknown) => err instanceof InputRejected && /index 144 is outside 0\.\.143/.test(err.message));
    assert.throws(() => core.check({ ...request(1), eps: 0 }), InputRejected);
    core.check(request(A.n - 1));
    const close = { type: 'SessionClosed' as const, meta: { ...request(0).meta, event_id: 'c' }, session_id: SID, reason: 'CLIENT_CLOSED' as const, message: 'done', final_iteration: 0, final_residual_norm: null };
    core.fold(close, { topic: 'solver.costs', partition: 0, offset: 0, eventId: 'c', occurredAt: 1 });
    assert.throws(() => core.check(request(1)), (err: unknown) => err instanceof InputRejected && /is closed/.test(err.message));
    core.free();
  });
});
