// solvermesh replay --verification against the real broker. Given the solver, three verifier
// groups and the consensus service run over two sessions, when the services are stopped and each
// session replayed, then every VerificationCompleted, VerifierVoteCast and consensus outcome is
// recomputed bit for bit; given a session whose log holds a tampered VerificationCompleted among
// the real ones, then the replay reports that record as the first divergence.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { VerificationCompleted } from '../../../schemas/generated/events';
import { costUpdated } from '../../../services/solver/events';
import { DEFAULT_SOLVER_LIMITS } from '../../../services/solver/domain';
import { DEFAULT_PROBES } from '../../../services/verifier/probes';
import { replayVerification, type VerificationReplayOptions } from '../../../services/verifier/replay';
import { TestKafka } from '../../support/kafka';
import { runCli } from '../../support/process';
import { readOf, send, startSolver, type SolverChild } from '../solver/support';
import { eventsUntil, openPoisson, startConsensus, startVerifier } from './support';

const GROUPS = ['g1', 'g2', 'g3'];

/** Event time of the sessions openPoisson opens (the solver's default for test events). */
const OPENED_AT_US = 1_767_225_600_000_000;

describe('solvermesh replay --verification: verifier groups and consensus re-run over the recorded inputs', function () {
  this.timeout(300_000);
  const children: SolverChild[] = [];
  let k: TestKafka;
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') for (const c of children) process.stderr.write(`--- ${c.proc.spawnargs.slice(2).join(' ')}\n${c.output().slice(-3000)}\n`);
    for (const c of children.splice(0)) c.proc.kill('SIGKILL');
    await k?.close();
  });

  it('given a clean and a tampered session, then the clean one replays identically and the tampered record is the first divergence', async () => {
    k = await TestKafka.create('verifier-replay');
    const env = { VERIFIER_GROUPS: String(GROUPS.length), CONSENSUS_WINDOW_MS: '3000' };
    children.push(startSolver(k), startConsensus(k, env), ...GROUPS.map((g) => startVerifier(k, g, env)));
    const clean = randomUUID(), tampered = randomUUID();
    await openPoisson(k, clean);
    await openPoisson(k, tampered);
    const decided = (sid: string, rounds: number) => eventsUntil(k, 'solver.verifications', 'ConsensusReached', sid, (es) => es.length >= rounds);
    await decided(clean, 1);
    const [firstRound] = await decided(tampered, 1);

    // A forged check of g1 lands among g1's real ones: the real checks of the next solutions follow it.
    const real = (await readOf(k, 'solver.verifications', 'VerificationCompleted', tampered)).find((v) => v.verifier_id === 'g1' && v.iteration === firstRound!.iteration)!;
    const forged: VerificationCompleted = { ...real, meta: { ...real.meta, event_id: randomUUID() }, max_error: real.max_error * (1 + 2 ** -40) };
    await k.sendEvents('solver.verifications', [{ key: tampered, event: forged }]);
    const forgedAt = (await readOf(k, 'solver.verifications', 'VerificationCompleted', tampered)).find((v) => v.meta.event_id === forged.meta.event_id)!.offset;

    // More solutions: a cost update re-solves each session, and a VerificationRequested after it publishes the new x.
    // Event time a second after the sessions opened: an input dated now would be a jump of months,
    // and the solver's idle eviction would close every other session on its partition.
    const later = OPENED_AT_US + 1_000_000;
    for (const sid of [clean, tampered]) {
      await send(k, 'solver.costs', [costUpdated(sid, 'replay-spec', { indices: [3], values: [0.5], flush: true, occurredAt: later })]);
      await send(k, 'solver.commands', [{
        type: 'VerificationRequested', session_id: sid, requested_by: 'spec', probe_count: 3, probe_size: 40, seed: 9,
        meta: { event_id: randomUUID(), correlation_id: sid, causation_id: null, occurred_at: later, producer: 'spec', sequence: null },
      }]);
    }
    // Every group has checked every solution of both sessions, and consensus decided on it.
    for (const sid of [clean, tampered]) {
      // The first solution and the one the request published after the re-solve.
      const solutions = await eventsUntil(k, 'solver.solutions', 'SolutionPublished', sid, (es) => es.filter((s) => s.chunk_index === 0).length >= 2);
      const count = solutions.filter((s) => s.chunk_index === 0).length;
      await eventsUntil(k, 'solver.verifications', 'VerifierVoteCast', sid, (es) => es.length >= GROUPS.length * count);
      await eventsUntil(k, 'solver.verifications', 'ConsensusReached', sid, (es) => es.length >= 2);
    }
    for (const c of children.splice(0)) { c.proc.kill('SIGKILL'); await c.exited; }

    const opts = (sessionId: string): VerificationReplayOptions => ({
      brokers: k.brokers, codec: k.codec, topicPrefix: k.prefix, sessionId, limits: DEFAULT_SOLVER_LIMITS,
      probeCount: DEFAULT_PROBES.count, probeSize: DEFAULT_PROBES.size,
    });
    const ok = await replayVerification(opts(clean));
    assert.equal(ok.ok, true, JSON.stringify(ok.streams));
    assert.deepEqual(ok.groups, GROUPS);
    const checks = (await readOf(k, 'solver.verifications', 'VerificationCompleted', clean)).length;
    const verdicts = (await readOf(k, 'solver.verifications', 'ConsensusReached', clean)).length;
    const compared = (name: string) => ok.streams.find((s) => s.stream === name)!;
    assert.equal(GROUPS.reduce((n, g) => n + compared(`verifier ${g}`).compared, 0), 2 * checks, 'every check and vote');
    assert.ok(compared('consensus').compared >= verdicts && verdicts >= 2);

    const bad = await replayVerification(opts(tampered));
    assert.equal(bad.ok, false);
    assert.equal(bad.first?.stream, 'verifier g1');
    assert.deepEqual([bad.first?.topic, bad.first?.offset], ['solver.verifications', forgedAt]);
    assert.equal(bad.first?.field, 'meta.event_id');
    assert.ok(bad.streams.filter((s) => s.divergence).every((s) => s.stream === 'verifier g1'), 'only g1\'s stream holds the forgery');

    // The CLI says the same, with exit codes.
    const env2 = { ...process.env, TOPIC_PREFIX: k.prefix, LOG_LEVEL: 'warn' };
    const cliOk = await runCli(['replay', '--session', clean, '--verification'], env2);
    assert.equal(cliOk.code, 0, `${cliOk.stdout}\n${cliOk.stderr}`);
    assert.match(cliOk.stdout, /OK consensus\s+\d+ identical/);
    const cliBad = await runCli(['replay', '--session', tampered, '--verification'], env2);
    assert.equal(cliBad.code, 1, `${cliBad.stdout}\n${cliBad.stderr}`);
    assert.match(cliBad.stdout, new RegExp(`first at verifier g1 event #\\d+ \\(solver\\.verifications offset ${forgedAt}\\), field meta\\.event_id`));
  });
});
