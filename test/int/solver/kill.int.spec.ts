// Given a stream of cost updates, when the solver is killed with SIGKILL at random moments and
// restarted, then its IterationCompleted sequence equals an uninterrupted run's: no gap, no
// duplicate, every field but the wall-clock iteration_time_ms bit for bit.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { poisson2d, seededRandom, smoothRhs } from '../../../wasm/src/problems';
import { costStream, openSession } from '../../../services/solver/events';
import type { IterationCompleted } from '../../../schemas/generated/events';
import { TestKafka } from '../../support/kafka';
import { iterationsUntilConverged, send, startSolver, type SolverChild } from './support';

const KILLS = 10;
const PER_ROUND = 300;

describe('solver service: exactly-once and deterministic across kill -9', function () {
  this.timeout(600_000);
  const children: SolverChild[] = [];
  const kafkas: TestKafka[] = [];
  afterEach(async () => {
    for (const c of children) c.proc.kill('SIGKILL');
    await Promise.all(kafkas.map((k) => k.close()));
  });

  it(`given ${KILLS} SIGKILLs during the stream, then IterationCompleted equals the uninterrupted run`, async () => {
    const sid = randomUUID();
    const a = poisson2d(40);
    const open = openSession(sid, a, smoothRhs(a.n), { verificationInterval: 10 });
    const stream = costStream(sid, a.n, PER_ROUND * KILLS, 30);
    const lastOffset = stream.length - 1;
    const env = { SOLVER_SNAPSHOT_EVERY: '200', SOLVER_RECORD_WORK: '300000', SOLVER_SLICE_WORK: '200000' };

    const ref = await TestKafka.create('solver-ref');
    kafkas.push(ref);
    children.push(startSolver(ref, env));
    await send(ref, 'solver.sessions', open);
    await send(ref, 'solver.costs', stream, 1000);
    const expected = await iterationsUntilConverged(ref, sid, lastOffset, 180_000);

    const k = await TestKafka.create('solver-kill');
    kafkas.push(k);
    await send(k, 'solver.sessions', open);
    const rnd = seededRandom(42);
    for (let round = 0; round < KILLS; round++) {
      await send(k, 'solver.costs', stream.slice(round * PER_ROUND, (round + 1) * PER_ROUND), 100);
      const child = startSolver(k, env);
      children.push(child);
      // Kill at a random moment after the child is up (startup itself takes ~1-2 s).
      await new Promise((r) => setTimeout(r, 1500 + rnd() * 2500));
      child.proc.kill('SIGKILL');
      await child.exited;
    }
    children.push(startSolver(k, env));
    const got = await iterationsUntilConverged(k, sid, lastOffset, 180_000);

    // readAll adds each record's offset in solver.iterations: it counts the transaction markers
    // before it, so it depends on how outputs were batched into transactions, not on the events.
    const strip = (list: IterationCompleted[]) => list.map((e) => ({ ...e, iteration_time_ms: 0, offset: 0 }));
    assert.equal(got.length, expected.length, `iteration events: ${got.length} after kills, ${expected.length} uninterrupted`);
    assert.deepStrictEqual(strip(got), strip(expected));
  });
});
