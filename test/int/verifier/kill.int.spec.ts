// Given a verifier checking a stream of solutions, when it is killed with SIGKILL mid-stream and
// restarted, then every solution is verified exactly once: none lost, none duplicated.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { VerificationRequested } from '../../../schemas/generated/events';
import { TestKafka } from '../../support/kafka';
import { send, startSolver, type SolverChild } from '../solver/support';
import { eventsUntil, openPoisson, startVerifier } from './support';

const REQUESTS = 24;
const KILLS = 3;

const request = (sid: string, k: number): VerificationRequested => ({
  type: 'VerificationRequested', session_id: sid, requested_by: 'spec', probe_count: 2, probe_size: 50, seed: k,
  meta: { event_id: randomUUID(), correlation_id: sid, causation_id: null, occurred_at: 1_767_225_600_000_000 + k * 1000, producer: 'spec', sequence: null },
});

describe('verifier: exactly once across kill -9', function () {
  this.timeout(300_000);
  const children: SolverChild[] = [];
  let k: TestKafka;
  before(async () => { k = await TestKafka.create('verifier-kill'); });
  after(async () => {
    for (const c of children) c.proc.kill('SIGKILL');
    await k.close();
  });

  it(`given ${KILLS} SIGKILLs while ${REQUESTS} solutions arrive, then each is verified exactly once`, async () => {
    const sid = randomUUID();
    children.push(startSolver(k));
    await openPoisson(k, sid);
    for (let round = 0; round < KILLS; round++) {
      const v = startVerifier(k, 'g1');
      children.push(v);
      const per = REQUESTS / KILLS;
      for (let i = 0; i < per; i++) {
        await send(k, 'solver.commands', [request(sid, round * per + i)]);
        await new Promise((r) => setTimeout(r, 150));
      }
      v.proc.kill('SIGKILL');
      await v.exited;
    }
    children.push(startVerifier(k, 'g1'));
    const solutions = await eventsUntil(k, 'solver.solutions', 'SolutionPublished', sid, (es) => es.length >= REQUESTS + 1);
    const checks = await eventsUntil(k, 'solver.verifications', 'VerificationCompleted', sid, (es) => es.length >= solutions.length, 120_000);
    const perSolution = new Map<string, number>();
    for (const c of checks) perSolution.set(c.meta.causation_id!, (perSolution.get(c.meta.causation_id!) ?? 0) + 1);
    assert.equal(checks.length, solutions.length, `${checks.length} verifications of ${solutions.length} solutions`);
    for (const s of solutions) assert.equal(perSolution.get(s.meta.event_id), 1, `solution ${s.meta.event_id} verified once`);
    assert.ok(checks.every((c) => c.verified), 'every solution of the converged session verifies');
    // A requested verification uses the request's probes: 2 x 50 rows.
    assert.equal(checks.filter((c) => c.probe_indices.length === 100).length, REQUESTS);
  });
});
