// Given the solver service as an operator runs it (a child process on the real broker and
// registry), when one of its own measurements crosses a knob's threshold (an iteration slice
// slower than SOLVER_SLOW_SLICE_MS, its consumer further behind a partition's end than
// STRUCTURAL_LAG_RECORDS), then a StructuralEventObserved RESOURCE_SPIKE lands on mesh.witnesses
// (services/runtime/structural.ts), where the guardian reads structural events. Nothing is mocked:
// the slices and the lag are real, the knob only sets where "slow" and "far behind" begin.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { StructuralEventObserved } from '../../../schemas/generated/events';
import { validateEvent } from '../../../schemas/validate';
import { costStream, openSession } from '../../../services/solver/events';
import { poisson2d, smoothRhs } from '../../../wasm/src/problems';
import { TestKafka } from '../../support/kafka';
import { readTopic, until } from '../guardian/support';
import { iterationsUntil, readOf, send, startSolver, type SolverChild } from './support';

const observed = async (k: TestKafka, resource: string) => (await readTopic(k, 'mesh.witnesses'))
  .filter((e): e is StructuralEventObserved => e.type === 'StructuralEventObserved' && e.resource === resource);

describe('solver service: structural events from its own measurements', function () {
  this.timeout(240_000);
  const children: SolverChild[] = [];
  let k: TestKafka;
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') for (const c of children) process.stderr.write(`--- solver output ---\n${c.output().slice(-4000)}\n`);
    for (const c of children.splice(0)) c.proc.kill('SIGKILL');
    await k?.close();
  });

  it('given SOLVER_SLOW_SLICE_MS=0, when a session is solved in slices, then they are reported slow: RESOURCE_SPIKE solve_slice_ms on mesh.witnesses naming the session, and the solve still converges', async () => {
    k = await TestKafka.create('solver-slow-slice');
    const sid = randomUUID();
    const a = poisson2d(30);
    // A session's open grants it SOLVER_RECORD_WORK units; the rest of its solve runs in slices
    // the solver grants itself (SOLVER_SLICE_WORK each), and those are what is timed.
    children.push(startSolver(k, { SOLVER_SLOW_SLICE_MS: '0', SOLVER_RECORD_WORK: '20000', SOLVER_SLICE_WORK: '50000' }));
    await send(k, 'solver.sessions', openSession(sid, a, smoothRhs(a.n)));
    await until('the convergence', () => readOf(k, 'solver.iterations', 'ConvergenceReached', sid), (cs) => cs.length > 0, 120_000);
    const slow = await until('slow slices on mesh.witnesses', () => observed(k, 'solve_slice_ms'), (es) => es.length > 0);
    for (const e of slow) {
      assert.deepEqual([e.kind, e.component_id, e.meta.producer], ['RESOURCE_SPIKE', 'solver', 'solver/observed']);
      assert.match(e.error!, new RegExp(`slice of session ${sid} \\(\\d+ work units\\): [\\d.]+ ms over the 0 ms limit`));
      // value is the measured ms, latency_us the same to the microsecond.
      assert.ok(e.value! > 0 && Math.abs(e.value! * 1000 - e.latency_us!) <= 0.5, JSON.stringify(e));
      assert.deepEqual(validateEvent(e), []);
    }
  });

  it('given a solver down while 6,000 cost updates arrive, when it comes back with STRUCTURAL_LAG_RECORDS=1000, then one RESOURCE_SPIKE consumer_lag names solver.costs and how far behind its end it was', async () => {
    k = await TestKafka.create('solver-lag');
    const sid = randomUUID();
    const a = poisson2d(20);
    // One instance id: the second process takes the first one's partitions at once (static membership).
    const env = { INSTANCE_ID: `lag-${randomUUID().slice(0, 8)}`, STRUCTURAL_LAG_RECORDS: '1000', SOLVER_MAX_BATCH_RECORDS: '100' };
    const first = startSolver(k, env);
    children.push(first);
    await send(k, 'solver.sessions', openSession(sid, a, smoothRhs(a.n)));
    await iterationsUntil(k, sid, (its) => its.length > 0, 90_000);
    first.proc.kill('SIGKILL');
    await first.exited;
    // The first run was never behind: no lag observed yet.
    assert.deepEqual(await observed(k, 'consumer_lag'), []);
    await send(k, 'solver.costs', costStream(sid, a.n, 6000, 100), 1000);
    children.push(startSolver(k, env));
    const lagged = await until('a consumer_lag observation', () => observed(k, 'consumer_lag'), (es) => es.length > 0, 120_000);
    const e = lagged[0]!;
    assert.deepEqual([e.kind, e.component_id, e.meta.producer], ['RESOURCE_SPIKE', 'solver', 'solver/observed']);
    assert.ok(e.value! > 1000 && e.value! < 6000, `lag ${e.value}`);
    assert.match(e.error!, new RegExp(`^solver\\.costs\\[\\d+\\] ${e.value} records behind its end \\(position \\d+, high watermark \\d+\\): over the 1000-record limit$`));
    assert.deepEqual(validateEvent(e), []);
    // Caught up, the partition is not reported again: one observation per episode.
    await iterationsUntil(k, sid, (its) => its.some((x) => x.applied_through.some((p) => p.topic === 'solver.costs' && p.offset >= 5999)), 120_000);
    // Observations are written outside the transactions: give one written late a moment to land.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await observed(k, 'consumer_lag')).filter((x) => x.error!.startsWith('solver.costs')).length, 1);
  });
});
