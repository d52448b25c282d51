// Given four verifier groups and the consensus service, when one group lies, then the three
// honest votes decide and the liar is named; when two lie, no verdict is claimed: the round
// closes at its deadline record with ConsensusNotReached.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { TestKafka } from '../../support/kafka';
import { readAll, startSolver, type SolverChild } from '../solver/support';
import { eventsUntil, openPoisson, startConsensus, startVerifier } from './support';

const GROUPS = ['g1', 'g2', 'g3', 'g4'];

async function mesh(label: string, liars: string[], children: SolverChild[]): Promise<TestKafka> {
  const k = await TestKafka.create(label);
  const env = { VERIFIER_GROUPS: '4', CONSENSUS_WINDOW_MS: '4000' };
  children.push(startSolver(k), startConsensus(k, env));
  for (const g of GROUPS) children.push(startVerifier(k, g, { ...env, VERIFIER_FAULT: liars.includes(g) ? 'lie' : 'none' }));
  return k;
}

describe('consensus of four verifier groups (seed 000 §3.5)', function () {
  this.timeout(300_000);
  const children: SolverChild[] = [];
  const kafkas: TestKafka[] = [];
  afterEach(async function () {
    // A failure shows what the services said (they log at warn).
    if (this.currentTest?.state === 'failed') for (const c of children) process.stderr.write(`--- ${c.proc.spawnargs.slice(2).join(' ')}\n${c.output()}\n`);
    for (const c of children.splice(0)) c.proc.kill('SIGKILL');
    await Promise.all(kafkas.splice(0).map((k) => k.close()));
  });

  it('given one lying group, the honest three decide VERIFIED and the liar is named', async () => {
    const k = await mesh('consensus-1liar', ['g4'], children);
    kafkas.push(k);
    const sid = randomUUID();
    await openPoisson(k, sid);
    const votes = await eventsUntil(k, 'solver.verifications', 'VerifierVoteCast', sid, (es) => es.length >= 4);
    const liar = votes.find((v) => v.verifier_id === 'g4')!;
    assert.equal(liar.verified, false);
    assert.ok(votes.filter((v) => v.verifier_id !== 'g4').every((v) => v.verified && v.solution_hash === liar.solution_hash));
    const [decision] = await eventsUntil(k, 'solver.verifications', 'ConsensusReached', sid, (es) => es.length >= 1);
    assert.equal(decision!.outcome, 'VERIFIED');
    assert.deepEqual([decision!.participants, decision!.threshold, decision!.agreeing], [4, 3, 3]);
    assert.equal(decision!.iteration, liar.iteration);
    // The round closes at its first quorum: the liar is an outlier if its vote came before it,
    // reported as outvoted if after.
    const named = decision!.outlier_verifier_ids.includes('g4')
      || (await eventsUntil(k, 'solver.verifications', 'VerifierFaultReported', sid, (es) => es.length >= 1))
        .some((f) => f.verifier_id === 'g4' && f.fault === 'OUTVOTED');
    assert.ok(named, 'the lying group is named');
    assert.deepEqual(decision!.outlier_verifier_ids.filter((g) => g !== 'g4'), []);
  });

  it('given two lying groups of four, no consensus is claimed and the deadline closes the round', async () => {
    const k = await mesh('consensus-2liars', ['g3', 'g4'], children);
    kafkas.push(k);
    const sid = randomUUID();
    await openPoisson(k, sid);
    const [none] = await eventsUntil(k, 'solver.verifications', 'ConsensusNotReached', sid, (es) => es.length >= 1);
    assert.deepEqual([none!.participants, none!.threshold], [4, 3]);
    assert.equal(none!.verified_votes + none!.rejected_votes, none!.voter_ids.length);
    assert.ok(none!.verified_votes < 3 && none!.rejected_votes < 3);
    const all = (await readAll(k, 'solver.verifications')).filter((e) => 'session_id' in e && e.session_id === sid);
    assert.equal(all.filter((e) => e.type === 'ConsensusReached').length, 0, 'no verdict claimed');
    const deadlines = all.filter((e) => e.type === 'VoteDeadlinePassed');
    assert.ok(deadlines.length >= 1);
  });
});
