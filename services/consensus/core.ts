// The consensus fold of one votes partition: a Round per (session, iteration), fed the votes and
// deadline records in the partition's order, its facts turned into events. Pure but for the map.
import type { ConsensusNotReached, ConsensusReached, VerifierFaultReported, VerifierVoteCast, VoteDeadlinePassed } from '../../schemas/generated/events';
import { unreachable } from '../runtime/errors';
import { derivedEventId } from '../runtime/ids';
import { NO_ROUND, decide, evolve, type Round, type RoundFact, type RoundInput } from './round';

export const PRODUCER = 'consensus';
export type ConsensusInput = VerifierVoteCast | VoteDeadlinePassed;
export type ConsensusOutput = ConsensusReached | ConsensusNotReached | VerifierFaultReported;

export const roundKey = (sessionId: string, iteration: number) => `${sessionId}/${iteration}`;

export class ConsensusCore {
  readonly rounds = new Map<string, Round>();
  constructor(readonly partition: number, readonly groups: number) {}

  /** The events an input decides, and whether it opened a round (which then needs a deadline). */
  fold(e: ConsensusInput): { out: ConsensusOutput[]; opened: boolean } {
    const key = roundKey(e.session_id, e.iteration);
    const round = this.rounds.get(key) ?? NO_ROUND;
    const input = roundInput(e);
    const facts = decide(round, input, this.groups);
    const next = evolve(round, input, this.groups);
    this.rounds.set(key, next);
    return { out: facts.map((f, k) => toEvent(e, f, k)), opened: round.status === 'none' && next.status === 'open' };
  }

  /** Rounds still waiting for a quorum or a deadline. */
  open(): Array<{ sessionId: string; iteration: number }> {
    return [...this.rounds].filter(([, r]) => r.status === 'open').map(([k]) => {
      const at = k.lastIndexOf('/');
      return { sessionId: k.slice(0, at), iteration: Number(k.slice(at + 1)) };
    });
  }
}

function roundInput(e: ConsensusInput): RoundInput {
  switch (e.type) {
    case 'VerifierVoteCast': return { kind: 'vote', ballot: { verifierId: e.verifier_id, verified: e.verified, solutionHash: e.solution_hash, nextInterval: e.next_interval ?? null } };
    case 'VoteDeadlinePassed': return { kind: 'deadline' };
    default: return unreachable(e);
  }
}

function toEvent(cause: ConsensusInput, f: RoundFact, k: number): ConsensusOutput {
  const meta = {
    event_id: derivedEventId(cause.meta.event_id, `consensus:${k}`), correlation_id: cause.session_id, causation_id: cause.meta.event_id,
    occurred_at: cause.meta.occurred_at, producer: PRODUCER, sequence: cause.iteration,
  };
  const base = { meta, session_id: cause.session_id, iteration: cause.iteration };
  switch (f.kind) {
    case 'decided':
      return { type: 'ConsensusReached', ...base, outcome: f.outcome, participants: f.participants, threshold: f.threshold, agreeing: f.agreeing, agreement_level: f.agreeing / f.participants, outlier_verifier_ids: [...f.outliers], verified_votes: f.verifiedVotes, next_interval: f.nextInterval };
    case 'expired':
      return { type: 'ConsensusNotReached', ...base, participants: f.participants, threshold: f.threshold, verified_votes: f.verifiedVotes, rejected_votes: f.rejectedVotes, voter_ids: [...f.voters] };
    case 'equivocated':
      return { type: 'VerifierFaultReported', ...base, verifier_id: f.verifierId, fault: 'EQUIVOCATED', detail: `voted ${f.first.verified ? 'verified' : 'rejected'} on ${f.first.solutionHash}, then ${f.second.verified ? 'verified' : 'rejected'} on ${f.second.solutionHash}` };
    case 'outvoted':
      return { type: 'VerifierFaultReported', ...base, verifier_id: f.verifierId, fault: 'OUTVOTED', detail: `voted ${f.ballot.verified ? 'verified' : 'rejected'} after the round decided otherwise` };
    default: { const never: never = f; return never; }
  }
}
