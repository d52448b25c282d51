// Given the solver, three verifier groups and the consensus service on the real broker, when a
// session converges and the groups agree its solution is verified, then the solver follows the
// agreed interval (seed 000 §5.5: 10 -> 11 after one verified check) from the consensus copy's
// place in its cost partition, its outputs say verified (§2.3), a replay of the session computes
// the same events, and `solvermesh session verify` prints the verdict with exit 0; with no
// consensus service it exits 3 and says why.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { replaySession } from '../../../services/solver/replay';
import { costStream } from '../../../services/solver/events';
import { TestKafka } from '../../support/kafka';
import { runCli } from '../../support/process';
import { costOffset, readAll, send, startSolver, type SolverChild } from '../solver/support';
import { eventsUntil, openPoisson, startConsensus, startVerifier } from './support';

describe('verification schedule and verdict: the solver follows the consensus of three groups', function () {
  this.timeout(300_000);
  const children: SolverChild[] = [];
  let k: TestKafka;
  let consensus: SolverChild;
  const env = { VERIFIER_GROUPS: '3', CONSENSUS_WINDOW_MS: '4000' };
  const cliEnv = () => ({ ...process.env, TOPIC_PREFIX: k.prefix, LOG_LEVEL: 'warn' });
  const sid = randomUUID();

  before(async () => {
    k = await TestKafka.create('verify-loop');
    consensus = startConsensus(k, env);
    children.push(startSolver(k), consensus, ...['g1', 'g2', 'g3'].map((g) => startVerifier(k, g, env)));
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') for (const c of children) process.stderr.write(`--- ${c.proc.spawnargs.slice(2).join(' ')}\n${c.output().slice(-3000)}\n`);
  });
  after(async () => {
    for (const c of children) c.proc.kill('SIGKILL');
    await k?.close();
  });

  it('given a VERIFIED consensus asking for 11, then the later solves emit every 11 iterations and say verified; a replay computes the same', async () => {
    await openPoisson(k, sid); // verification_interval 10
    const [decision] = await eventsUntil(k, 'solver.verifications', 'ConsensusReached', sid, (es) => es.length >= 1);
    assert.deepEqual([decision!.outcome, decision!.participants, decision!.agreeing, decision!.next_interval], ['VERIFIED', 3, 3, 11]);
    // Its copy in the cost partition is where the solver applies it.
    const [copy] = await eventsUntil(k, 'solver.costs', 'ConsensusReached', sid, (es) => es.length >= 1);
    assert.equal(copy!.meta.causation_id, decision!.meta.event_id);
    const copyAt = (await readAll(k, 'solver.costs')).find((e) => e.meta.event_id === copy!.meta.event_id)!.offset;

    // Cost updates after it: every re-solve runs at the agreed interval.
    const costs = costStream(sid, 400, 30, 3, 7);
    await send(k, 'solver.costs', costs);
    const lastCost = (await readAll(k, 'solver.costs')).filter((e) => e.type === 'CostUpdated' && 'session_id' in e && e.session_id === sid).at(-1)!.offset;
    const convs = await eventsUntil(k, 'solver.iterations', 'ConvergenceReached', sid, (es) => es.some((e) => costOffset(e) >= lastCost));
    const its = await eventsUntil(k, 'solver.iterations', 'IterationCompleted', sid, () => true);
    const before = its.filter((e) => costOffset(e) < copyAt), after = its.filter((e) => costOffset(e) > copyAt);
    assert.ok(before.length > 0 && after.length > 5, `${before.length} before, ${after.length} after`);
    assert.ok(before.every((e) => e.verification_interval === 10 && e.iterations_in_batch <= 10 && e.verified === null));
    for (const e of after) {
      assert.equal(e.verification_interval, 11);
      assert.ok(e.iterations_in_batch <= 11);
      assert.deepEqual([e.verified, e.verification_score, e.swarm_consensus, e.swarm_participants, e.verified_iteration], [true, 1, 1, 3, decision!.iteration]);
    }
    assert.ok(after.some((e) => e.iterations_in_batch === 11), 'full batches of 11 after the consensus');
    const last = convs.find((e) => costOffset(e) >= lastCost)!;
    assert.deepEqual([last.verified, last.swarm_consensus, last.verified_iteration], [true, 1, decision!.iteration]);

    const replay = await replaySession({ brokers: k.brokers, codec: k.codec, topicPrefix: k.prefix, sessionId: sid });
    assert.ok(replay.ok, `replay diverged: ${JSON.stringify(replay.divergence)}`);
    assert.equal(replay.compared, its.length);
  });

  it('given `session verify`, then each group\'s check and the consensus are printed and it exits 0; the solver then follows the new interval (12)', async () => {
    const r = await runCli(['session', 'verify', sid, '--probes', '3', '--timeout', '90'], cliEnv());
    assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, new RegExp(`^solution of session ${sid} at iteration \\d+$`));
    assert.deepEqual(lines.slice(1, 4).map((l) => l.match(/verification (g\d) at iteration \d+: verified .* on 300 rows/)?.[1]), ['g1', 'g2', 'g3']);
    assert.match(lines[4]!, /consensus at iteration \d+: VERIFIED by 3 of 3 groups \(3 needed, agreement 1\.00\), next interval 12/);
    assert.match(r.stderr, /verified at iteration \d+ by 3 of 3 groups/);
    // The new round's interval applies to the solves after its copy.
    const after = await eventsUntil(k, 'solver.costs', 'ConsensusReached', sid, (es) => es.length >= 2);
    assert.equal(after.at(-1)!.next_interval, 12);
    await send(k, 'solver.costs', costStream(sid, 400, 6, 3, 11, 100));
    const its = await eventsUntil(k, 'solver.iterations', 'IterationCompleted', sid, (es) => es.some((e) => e.verification_interval === 12 && e.iterations_in_batch === 12));
    assert.ok(its.filter((e) => e.verification_interval === 12).every((e) => e.iterations_in_batch <= 12));
  });

  it('given no consensus service and a new solution, then `session verify` exits 3 and says no consensus came', async () => {
    consensus.proc.kill('SIGKILL');
    await consensus.exited;
    await send(k, 'solver.costs', costStream(sid, 400, 3, 3, 13, 200));
    const r = await runCli(['session', 'verify', sid, '--timeout', '15'], cliEnv());
    assert.equal(r.code, 3, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.match(r.stderr, /3 group\(s\) checked it, but no consensus came \(is the consensus service running\?\)/);
    const bad = await runCli(['session', 'verify', randomUUID(), '--timeout', '5'], cliEnv());
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /is not in .*solver\.sessions/);
  });
});
