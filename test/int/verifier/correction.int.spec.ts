// Given a converged session checked by a verifier, when a SolutionPublished with a corrupted x is
// forged onto solver.solutions, then the verifier fails that very solution, asks the solver for a
// correction, and the solver's solve caused by that correction converges again.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { unpackFloat64, packFloat64 } from '../../../schemas/packed';
import type { SolutionPublished } from '../../../schemas/generated/events';
import { derivedEventId } from '../../../services/runtime/ids';
import { TestKafka } from '../../support/kafka';
import { send, startSolver, type SolverChild } from '../solver/support';
import { eventsUntil, openPoisson, startVerifier } from './support';

describe('verifier: a corrupted solution is detected and corrected', function () {
  this.timeout(300_000);
  const children: SolverChild[] = [];
  let k: TestKafka;
  before(async () => { k = await TestKafka.create('verifier-forge'); });
  after(async () => {
    for (const c of children) c.proc.kill('SIGKILL');
    await k.close();
  });

  it('fails the forged x at its own iteration, requests a correction, and the session re-converges', async () => {
    const sid = randomUUID();
    children.push(startSolver(k), startVerifier(k, 'g1'));
    await openPoisson(k, sid);

    const [honest] = await eventsUntil(k, 'solver.verifications', 'VerificationCompleted', sid, (es) => es.length >= 1);
    assert.equal(honest!.verified, true, `the solver's own solution verifies: max error ${honest!.max_error} vs ${honest!.tolerance}`);
    assert.equal(honest!.verifier_id, 'g1');
    assert.equal(honest!.probe_indices.length, 400, 'a 400-row session: 10 probes of 100 rows cover every row');

    const [real] = await eventsUntil(k, 'solver.solutions', 'SolutionPublished', sid, (es) => es.length >= 1);
    assert.ok(real!.applied_through && real!.applied_through.length > 0, 'the solver says which A and b its x solves');
    const x = unpackFloat64(real!.values).map((v) => v * 1.1);
    const forgedIteration = real!.iteration + 10;
    const forged: SolutionPublished = {
      ...real!, iteration: forgedIteration, values: packFloat64(x),
      meta: { ...real!.meta, event_id: randomUUID(), producer: 'forger', sequence: forgedIteration },
    };
    await send(k, 'solver.solutions', [forged]);

    const checks = await eventsUntil(k, 'solver.verifications', 'VerificationCompleted', sid, (es) => es.some((e) => e.iteration === forgedIteration));
    const caught = checks.find((e) => e.iteration === forgedIteration)!;
    assert.equal(caught.verified, false);
    assert.ok(caught.max_error > caught.tolerance);
    assert.equal(caught.divergence_detected, true, 'residual x1e7 over the best of the window');
    const [correction] = await eventsUntil(k, 'solver.commands', 'CorrectionRequested', sid, (es) => es.length >= 1);
    assert.equal(correction!.iteration, forgedIteration);
    assert.equal(correction!.trigger, 'DIVERGENCE');
    assert.equal(correction!.action, 'FULL_RESTART');

    // The solver sequences the correction onto solver.costs and restarts from x = 0: its next
    // solve is caused by that copy, starts over (a high residual) and converges again.
    const copy = derivedEventId(correction!.meta.event_id, 'sequenced');
    const its = await eventsUntil(k, 'solver.iterations', 'ConvergenceReached', sid, (es) => es.some((e) => e.meta.causation_id === copy));
    const again = its.find((e) => e.meta.causation_id === copy)!;
    assert.ok(again.residual_norm <= again.tolerance);
    const restarted = await eventsUntil(k, 'solver.iterations', 'IterationCompleted', sid, (es) => es.some((e) => e.meta.causation_id === copy));
    const first = restarted.find((e) => e.meta.causation_id === copy)!;
    assert.ok(first.residual_norm > 1e-3, `the restart from x = 0 shows in the next iterations (residual ${first.residual_norm})`);
  });
});
