// solvermesh estimate against the real broker and the solver service. Given a converged session,
// when x_i is asked for by push and by walk, then the answers lie within their bounds of the
// exact x_i and are printed beside the solution's x_i; when the index is out of range or the
// session unknown, the CLI refuses with a message; when a hostile request reaches the solver
// directly, it is dead-lettered with the reason and the solver answers the next one; the
// answers replay bit for bit.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { EntryEstimateRequested } from '../../../schemas/generated/events';
import { openSession } from '../../../services/solver/events';
import { replaySession } from '../../../services/solver/replay';
import { SolverSession } from '../../../wasm';
import { poisson2d, smoothRhs } from '../../../wasm/src/problems';
import { TestKafka } from '../../support/kafka';
import { runCli, type CliRun } from '../../support/process';
import { iterationsUntilConverged, readOf, send, startSolver, type SolverChild } from './support';

const A = poisson2d(20); // 400 unknowns, diagonal 4.1 against 4: strictly dominant
const B = smoothRhs(A.n);

function exactX(): Float64Array {
  const s = SolverSession.open(A, 'reference');
  try {
    s.setB(B);
    s.configure({ method: 'cg', tol: 1e-14, precond: 'jacobi' });
    s.iterate(10_000);
    return s.readX();
  } finally {
    s.free();
  }
}

/** `name   value ...` lines of the report. */
const field = (r: CliRun, name: string): string => {
  const line = r.stdout.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `no '${name}' line in:\n${r.stdout}\n${r.stderr}`);
  return line.slice(name.length).trim();
};

describe('solvermesh estimate: x_i by a sublinear estimate, as an event the solver answers', function () {
  this.timeout(180_000);
  let k: TestKafka;
  let solver: SolverChild;
  let env: NodeJS.ProcessEnv;
  const sid = randomUUID();
  const x = exactX();

  before(async () => {
    k = await TestKafka.create('solver-estimate');
    solver = startSolver(k);
    env = { ...process.env, TOPIC_PREFIX: k.prefix, LOG_LEVEL: 'warn' };
    await send(k, 'solver.sessions', openSession(sid, A, B, { verificationInterval: 10 }));
    await iterationsUntilConverged(k, sid, -1);
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') process.stderr.write(`--- solver output ---\n${solver.output().slice(-3000)}\n`);
  });
  after(async () => {
    solver?.proc.kill('SIGKILL');
    await k?.close();
  });

  it('given a converged session, when x_123 is estimated by push, then the estimate is within its bound of the exact x_123 and beside the solution\'s', async () => {
    const r = await runCli(['estimate', '--session', sid, '--index', '123', '--eps', '1e-9'], env);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const estimate = Number(field(r, 'estimate'));
    const bound = Number(field(r, 'bound').split(/\s+/)[0]);
    assert.ok(bound <= 1e-9 && Math.abs(estimate - x[123]!) <= bound, `estimate ${estimate} bound ${bound} exact ${x[123]}`);
    assert.match(field(r, 'bound'), /confidence 1\)/);
    assert.match(field(r, 'method'), /^LOCAL_PUSH, work \d+ pushes$/);
    assert.match(field(r, 'solution'), /SolutionPublished at iteration \d+/);
    const solutionX = Number(/x_i = (\S+)/.exec(field(r, 'solution'))![1]);
    // The solution is iterative (tolerance 1e-8 on the relative residual): close, not exact.
    assert.ok(Math.abs(solutionX - x[123]!) < 1e-6);
    assert.equal(field(r, '|diff|').split(/\s+/)[0], Math.abs(estimate - solutionX).toExponential(3));
  });

  it('given a walk request, then the answer states its confidence 1 - delta and holds its bound', async () => {
    const r = await runCli(['estimate', '--session', sid, '--index', '7', '--method', 'walk', '--eps', '0.02', '--walks', '5000', '--delta', '0.01', '--seed', '42', '--json'], env);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const j = JSON.parse(r.stdout) as { estimate: number; error_bound: number; confidence: number; method: string; work: number; solution: { value: number } };
    assert.deepEqual([j.method, j.confidence], ['RANDOM_WALK_NEUMANN', 0.99]);
    assert.ok(j.work > 0 && Math.abs(j.estimate - x[7]!) <= j.error_bound, JSON.stringify(j));
  });

  it('given an index out of range or an unknown session, then the CLI refuses with a message and sends nothing', async () => {
    const before = (await readOf(k, 'solver.commands', 'EntryEstimateRequested', sid)).length;
    const out = await runCli(['estimate', '--session', sid, '--index', String(A.n), '--timeout', '10'], env);
    assert.equal(out.code, 1);
    assert.match(out.stderr, /--index 400 is out of range: session .* has 400 unknowns \(0\.\.399\)/);
    const unknown = await runCli(['estimate', '--session', randomUUID(), '--index', '1', '--timeout', '10'], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /is unknown: no SessionOpened/);
    assert.equal((await readOf(k, 'solver.commands', 'EntryEstimateRequested', sid)).length, before);
  });

  it('given a hostile request on solver.commands, then it is dead-lettered with the reason and the solver answers the next request', async () => {
    const hostile: EntryEstimateRequested = {
      type: 'EntryEstimateRequested',
      meta: { event_id: randomUUID(), correlation_id: sid, causation_id: null, occurred_at: Date.now() * 1000, producer: 'spec', sequence: null },
      session_id: sid, requested_by: 'spec', index: 1_000_000, eps: 1e-6, method: 'LOCAL_PUSH', walks: 1, delta: 0.001, seed: 1,
    };
    await send(k, 'solver.commands', [hostile]);
    const dead = await k.collect('solver.commands.dlq', (rs) => rs.length >= 1);
    assert.match(dead[0]!.headers['dlq.error.message'] ?? '', /index 1000000 is outside 0\.\.399/);
    const r = await runCli(['estimate', '--session', sid, '--index', '399', '--timeout', '60'], env);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  });

  it('given the recorded log, when the session is replayed, then every EntryEstimated is recomputed bit for bit', async () => {
    const answers = await readOf(k, 'solver.iterations', 'EntryEstimated', sid);
    assert.equal(answers.length, 3);
    const result = await replaySession({ brokers: k.brokers, codec: k.codec, topicPrefix: k.prefix, sessionId: sid });
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.deepEqual([result.estimates.recorded, result.estimates.compared], [3, 3]);
  });
});
