import assert from 'node:assert/strict';
import { NO_ROUND, decide, evolve, quorum, type Ballot, type Round, type RoundFact, type RoundInput } from '../../../services/consensus/round';

const vote = (verifierId: string, verified = true, solutionHash = 'h1', nextInterval: number | null = null): RoundInput => ({ kind: 'vote', ballot: { verifierId, verified, solutionHash, nextInterval } });
const DEADLINE: RoundInput = { kind: 'deadline' };

/** given inputs, when folded in order: every fact and the final round. */
function run(n: number, inputs: RoundInput[]): { facts: RoundFact[][]; round: Round } {
  let round = NO_ROUND;
  const facts: RoundFact[][] = [];
  for (const i of inputs) { facts.push(decide(round, i, n)); round = evolve(round, i, n); }
  return { facts, round };
}

describe('consensus round (seed 000 §3.5)', () => {
  it('needs floor(2n/3)+1 votes', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 10].map(quorum), [1, 2, 3, 3, 4, 5, 5, 7]);
  });

  it('given 4 groups, decides at the third agreeing vote and names the liar that voted before', () => {
    const { facts, round } = run(4, [vote('d', false), vote('a'), vote('b'), vote('c')]);
    assert.deepEqual(facts.slice(0, 3), [[], [], []]);
    assert.deepEqual(facts[3], [{ kind: 'decided', outcome: 'VERIFIED', participants: 4, threshold: 3, agreeing: 3, verifiedVotes: 3, outliers: ['d'], nextInterval: null }]);
    assert.equal(round.status, 'decided');
  });

  it('given the liar votes after the quorum, reports it as outvoted', () => {
    const { facts } = run(4, [vote('a'), vote('b'), vote('c'), vote('d', false)]);
    assert.deepEqual(facts[2], [{ kind: 'decided', outcome: 'VERIFIED', participants: 4, threshold: 3, agreeing: 3, verifiedVotes: 3, outliers: [], nextInterval: null }]);
    assert.deepEqual(facts[3], [{ kind: 'outvoted', verifierId: 'd', ballot: { verifierId: 'd', verified: false, solutionHash: 'h1', nextInterval: null } }]);
  });

  it('given 2 liars of 4, claims nothing; the first deadline closes the round undecided, later ones are ignored', () => {
    const { facts, round } = run(4, [vote('a'), vote('c', false), vote('b'), vote('d', false), DEADLINE, DEADLINE, vote('e')]);
    assert.deepEqual(facts.slice(0, 4), [[], [], [], []]);
    assert.deepEqual(facts[4], [{ kind: 'expired', participants: 4, threshold: 3, verifiedVotes: 2, rejectedVotes: 2, voters: ['a', 'b', 'c', 'd'] }]);
    assert.deepEqual(facts[5], []);
    assert.deepEqual(facts[6], []);
    assert.equal(round.status, 'expired');
  });

  it('a deadline after the decision changes nothing', () => {
    const { facts } = run(3, [vote('a'), vote('b'), vote('c'), DEADLINE]);
    assert.equal(facts[2]![0]!.kind, 'decided');
    assert.deepEqual(facts[3], []);
  });

  it('rejects by quorum too: three groups that fail x decide REJECTED', () => {
    const { facts } = run(4, [vote('a', false), vote('b', false), vote('c', false)]);
    assert.deepEqual(facts[2], [{ kind: 'decided', outcome: 'REJECTED', participants: 4, threshold: 3, agreeing: 3, verifiedVotes: 0, outliers: [], nextInterval: null }]);
  });

  it('reports a group that votes twice differently as equivocating, once, and counts its first vote', () => {
    const { facts, round } = run(4, [vote('a'), vote('a', false), vote('a', false), vote('a'), vote('b'), vote('c')]);
    const first: Ballot = { verifierId: 'a', verified: true, solutionHash: 'h1', nextInterval: null };
    assert.deepEqual(facts[1], [{ kind: 'equivocated', verifierId: 'a', first, second: { ...first, verified: false } }]);
    assert.deepEqual(facts.slice(2, 5), [[], [], []]);
    assert.equal(facts[5]![0]!.kind, 'decided');
    assert.ok(round.status === 'decided' && round.equivocators.has('a'));
  });

  it('ignores a repeated identical vote (a redelivery)', () => {
    const { facts } = run(4, [vote('a'), vote('a'), vote('b')]);
    assert.deepEqual(facts, [[], [], []]);
  });

  it('never counts votes on different x together', () => {
    const { facts } = run(4, [vote('a', true, 'h1'), vote('b', true, 'h1'), vote('c', true, 'h2'), vote('d', true, 'h1')]);
    assert.deepEqual(facts.slice(0, 3), [[], [], []]);
    assert.deepEqual(facts[3], [{ kind: 'decided', outcome: 'VERIFIED', participants: 4, threshold: 3, agreeing: 3, verifiedVotes: 4, outliers: ['c'], nextInterval: null }]);
  });

  it('agrees on the lower median of the agreeing votes\' next intervals (seed 000 §5.5): a dissenter cannot move it', () => {
    // Three honest groups ask for 110, 121, 110; the liar, voting against, asks for 1.
    const { facts } = run(4, [vote('d', false, 'h1', 1), vote('a', true, 'h1', 110), vote('b', true, 'h1', 121), vote('c', true, 'h1', 110)]);
    assert.deepEqual(facts[3], [{ kind: 'decided', outcome: 'VERIFIED', participants: 4, threshold: 3, agreeing: 3, verifiedVotes: 3, outliers: ['d'], nextInterval: 110 }]);
    // Votes from verifiers without the schedule carry none; the others still decide it.
    assert.equal((run(3, [vote('a', false, 'h1', null), vote('b', false, 'h1', 80), vote('c', false, 'h1', 64)]).facts[2]![0] as { nextInterval: number }).nextInterval, 64);
    assert.equal((run(1, [vote('a')]).facts[0]![0] as { nextInterval: number | null }).nextInterval, null);
  });

  it('with one group, its vote is the decision', () => {
    assert.equal(run(1, [vote('a')]).facts[0]![0]!.kind, 'decided');
  });
});
