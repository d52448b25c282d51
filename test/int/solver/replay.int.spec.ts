// Given a session's log, when it is replayed, then every IterationCompleted is recomputed bit
// for bit; when a recorded event is corrupted, then replay names the first divergence.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { poisson2d, smoothRhs } from '../../../wasm/src/problems';
import { costStream, openSession } from '../../../services/solver/events';
import { replaySession } from '../../../services/solver/replay';
import type { IterationCompleted } from '../../../schemas/generated/events';
import { TestKafka } from '../../support/kafka';
import { costOffset, iterationsUntil, send, startSolver, type SolverChild } from './support';

describe('solvermesh replay: a session rebuilt from the log', function () {
  this.timeout(240_000);
  let k: TestKafka;
  let solver: SolverChild | undefined;
  afterEach(async () => { solver?.proc.kill('SIGKILL'); await k?.close(); });

  it('given a recorded session, then replay is OK; given a corrupted record, then it reports the first divergence', async () => {
    k = await TestKafka.create('solver-replay');
    const sid = randomUUID();
    const a = poisson2d(30);
    solver = startSolver(k, { SOLVER_RECORD_WORK: '100000', SOLVER_SLICE_WORK: '50000' });
    await send(k, 'solver.sessions', openSession(sid, a, smoothRhs(a.n), { verificationInterval: 10 }));
    const stream = costStream(sid, a.n, 1000, 25);
    await send(k, 'solver.costs', stream);
    const its = await iterationsUntil(k, sid, (l) => l.some((e) => costOffset(e) >= 999) && l.at(-1)!.residual_norm <= 1e-8);
    solver.proc.kill('SIGKILL');

    const opts = { brokers: k.brokers, codec: k.codec, topicPrefix: k.prefix, sessionId: sid };
    const ok = await replaySession(opts);
    assert.equal(ok.ok, true, JSON.stringify(ok));
    assert.equal(ok.compared, its.length);

    const forged: IterationCompleted = { ...its[its.length - 1]!, residual_norm: its[its.length - 1]!.residual_norm * (1 + 2 ** -40) };
    await k.sendEvents('solver.iterations', [{ key: sid, event: forged }]);
    const bad = await replaySession(opts);
    assert.equal(bad.ok, false);
    assert.equal(bad.divergence!.index, its.length);
    assert.equal(bad.divergence!.field, '(missing recomputed event)');
  });
});
