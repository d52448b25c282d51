// One consensus round: the votes of the configured verifier groups on one (session, iteration)
// (seed 000 §3.4-3.5). A round decides at its first quorum, floor(2n/3)+1 agreeing votes of the
// n configured groups, or closes undecided at the first deadline record sequenced into the votes'
// partition; later deadlines are ignored, as in Kafka-based ordering services. The log's order
// alone decides, so a replay decides the same. Pure: no clock, no I/O.

export const quorum = (n: number): number => Math.floor((2 * n) / 3) + 1;

export interface Ballot {
  readonly verifierId: string;
  readonly verified: boolean;
  /** Votes on different x are never counted together. */
  readonly solutionHash: string;
  /** The verification interval the group asks for next (seed 000 §5.5); null from older verifiers. */
  readonly nextInterval: number | null;
}

export type RoundInput =
  | { readonly kind: 'vote'; readonly ballot: Ballot }
  | { readonly kind: 'deadline' };

const choice = (b: Ballot) => `${b.verified ? 'VERIFIED' : 'REJECTED'}:${b.solutionHash}`;

export type Round =
  | { readonly status: 'none' }
  | { readonly status: 'open'; readonly ballots: ReadonlyMap<string, Ballot>; readonly equivocators: ReadonlySet<string> }
  | {
    readonly status: 'decided'; readonly ballots: ReadonlyMap<string, Ballot>; readonly equivocators: ReadonlySet<string>;
    readonly outcome: 'VERIFIED' | 'REJECTED'; readonly solutionHash: string;
  }
  | { readonly status: 'expired'; readonly ballots: ReadonlyMap<string, Ballot>; readonly equivocators: ReadonlySet<string> };

export const NO_ROUND: Round = { status: 'none' };

/** What a round's input makes known. */
export type RoundFact =
  | {
    readonly kind: 'decided'; readonly outcome: 'VERIFIED' | 'REJECTED'; readonly participants: number; readonly threshold: number;
    readonly agreeing: number; readonly verifiedVotes: number; readonly outliers: readonly string[]; readonly nextInterval: number | null;
  }
  | { readonly kind: 'expired'; readonly participants: number; readonly threshold: number; readonly verifiedVotes: number; readonly rejectedVotes: number; readonly voters: readonly string[] }
  | { readonly kind: 'equivocated'; readonly verifierId: string; readonly first: Ballot; readonly second: Ballot }
  | { readonly kind: 'outvoted'; readonly verifierId: string; readonly ballot: Ballot };

const sorted = (xs: Iterable<string>) => [...xs].sort();

/** The facts an input adds to the round; `n` is the number of configured groups. */
export function decide(given: Round, input: RoundInput, n: number): RoundFact[] {
  const threshold = quorum(n);
  const round: Exclude<Round, { status: 'none' }> = given.status === 'none' ? { status: 'open', ballots: new Map(), equivocators: new Set() } : given;
  if (input.kind === 'deadline') {
    if (round.status !== 'open') return [];
    const votes = [...round.ballots.values()];
    return [{
      kind: 'expired', participants: n, threshold, voters: sorted(round.ballots.keys()),
      verifiedVotes: votes.filter((b) => b.verified).length, rejectedVotes: votes.filter((b) => !b.verified).length,
    }];
  }
  const b = input.ballot;
  const prior = round.ballots.get(b.verifierId);
  if (prior) {
    if (choice(prior) === choice(b) || round.equivocators.has(b.verifierId)) return [];
    return [{ kind: 'equivocated', verifierId: b.verifierId, first: prior, second: b }];
  }
  if (round.status === 'decided') {
    return choice(b) === `${round.outcome}:${round.solutionHash}` ? [] : [{ kind: 'outvoted', verifierId: b.verifierId, ballot: b }];
  }
  if (round.status === 'expired') return [];
  const ballots = new Map(round.ballots).set(b.verifierId, b);
  const agreeing = [...ballots.values()].filter((x) => choice(x) === choice(b)).length;
  return agreeing >= threshold ? [decision(ballots, b, n)] : [];
}

function decision(ballots: ReadonlyMap<string, Ballot>, winner: Ballot, n: number): RoundFact {
  const agree = (x: Ballot) => choice(x) === choice(winner);
  const all = [...ballots.values()];
  const agreeing = all.filter(agree);
  return {
    kind: 'decided', outcome: winner.verified ? 'VERIFIED' : 'REJECTED', participants: n, threshold: quorum(n),
    agreeing: agreeing.length, verifiedVotes: all.filter((x) => x.verified).length, outliers: sorted(all.filter((x) => !agree(x)).map((x) => x.verifierId)),
    nextInterval: lowerMedian(agreeing.flatMap((x) => (x.nextInterval === null ? [] : [x.nextInterval]))),
  };
}

/**
 * The agreed interval: the lower median of the agreeing votes' requests. With fewer than a
 * third of the groups faulty, a quorum holds a majority of honest votes, so the median lies
 * within the honest requests whatever the faulty ones ask.
 */
export function lowerMedian(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[(s.length - 1) >> 1]!;
}

/** The round after an input. Total: any input in any state yields a state. */
export function evolve(round: Round, input: RoundInput, n: number): Round {
  const facts = decide(round, input, n);
  if (input.kind === 'deadline') {
    if (round.status === 'none') return { status: 'expired', ballots: new Map(), equivocators: new Set() };
    return round.status === 'open' ? { status: 'expired', ballots: round.ballots, equivocators: round.equivocators } : round;
  }
  const b = input.ballot;
  const base = round.status === 'none' ? { ballots: new Map<string, Ballot>(), equivocators: new Set<string>() } : round;
  const equivocated = facts.some((f) => f.kind === 'equivocated');
  const equivocators = equivocated ? new Set([...base.equivocators, b.verifierId]) : base.equivocators;
  // A group's first vote is the one counted; a second, different one only marks it.
  const ballots = base.ballots.has(b.verifierId) ? base.ballots : new Map(base.ballots).set(b.verifierId, b);
  const decided = facts.find((f) => f.kind === 'decided');
  if (decided) return { status: 'decided', ballots, equivocators, outcome: decided.outcome, solutionHash: b.solutionHash };
  if (round.status === 'decided') return { ...round, ballots, equivocators };
  if (round.status === 'expired') return { status: 'expired', ballots, equivocators };
  return { status: 'open', ballots, equivocators };
}
