// What `solvermesh session verify` makes of the log after its VerificationRequested: the
// solution the solver published for it (its causation is the request's copy on solver.costs),
// each group's VerificationCompleted on that solution, and the consensus on its iteration; then
// the verdict and the exit code a script reads. Pure: decoded events in, in any interleaving of
// the two topics, a verdict out; the command owns the request and the readers.
import type { ConsensusNotReached, ConsensusReached, EventOf, VerificationCompleted } from '../../schemas/generated/events';
import { derivedEventId } from '../runtime/ids';
import { isOneOf } from '../runtime/processor';
import { consensusLine, verificationLine } from './session-watch';

const VERIFY_TYPES = ['SolutionPublished', 'VerificationCompleted', 'ConsensusReached', 'ConsensusNotReached'] as const;
export type VerifyEvent = EventOf<(typeof VERIFY_TYPES)[number]>;
export const isVerifyEvent = isOneOf(VERIFY_TYPES);

/** Exit codes: scripts tell a rejected solution from no agreement and from no answer at all. */
export const VERIFY_EXIT = { verified: 0, rejected: 1, noConsensus: 2, timedOut: 3 } as const;

type Consensus = ConsensusReached | ConsensusNotReached;

export interface VerifyState {
  /** The id the solver's copy of the request carries: the published solution names it as its cause. */
  readonly copyId: string;
  /** The solution published for the request: its iteration and its first chunk's id (the verifications' cause). */
  solution: { readonly iteration: number; readonly chunkId: string } | null;
  readonly results: Map<string, VerificationCompleted[]>;
  /** The first consensus result per iteration (a round decides once). */
  readonly consensus: Map<number, Consensus>;
}

/** The solver sequences a command under an id derived from the original's (services/solver/outputs.ts). */
export const newVerifyState = (requestId: string): VerifyState => ({
  copyId: derivedEventId(requestId, 'sequenced'), solution: null, results: new Map(), consensus: new Map(),
});

export function foldVerify(s: VerifyState, e: VerifyEvent): void {
  switch (e.type) {
    case 'SolutionPublished':
      if (e.chunk_index === 0 && e.meta.causation_id === s.copyId && !s.solution) s.solution = { iteration: e.iteration, chunkId: e.meta.event_id };
      return;
    case 'VerificationCompleted': {
      const cause = e.meta.causation_id ?? '';
      const list = s.results.get(cause) ?? [];
      if (!list.some((r) => r.verifier_id === e.verifier_id)) list.push(e);
      s.results.set(cause, list);
      return;
    }
    case 'ConsensusReached':
    case 'ConsensusNotReached':
      if (!s.consensus.has(e.iteration)) s.consensus.set(e.iteration, e);
      return;
    default: { const never: never = e; void never; }
  }
}

export interface Verdict {
  readonly lines: readonly string[];
  readonly code: number;
  readonly message: string;
}

const groupResults = (s: VerifyState) => (s.solution ? [...(s.results.get(s.solution.chunkId) ?? [])].sort((a, b) => a.verifier_id.localeCompare(b.verifier_id)) : []);

/** Every group's result and the consensus are in. */
export function settled(s: VerifyState): boolean {
  const c = s.solution && s.consensus.get(s.solution.iteration);
  return Boolean(c) && groupResults(s).length >= c!.participants;
}

/** The verdict as far as the log went (`timedOut`: the wait ended before it settled). */
export function verdictOf(s: VerifyState, sessionId: string, timedOut: boolean): Verdict {
  if (!s.solution) {
    return { lines: [], code: VERIFY_EXIT.timedOut, message: `session ${sessionId}: the solver published no solution for the request in time (is the solver running, and the session's current solve finished?)` };
  }
  const { iteration } = s.solution;
  const results = groupResults(s);
  const lines = [`solution of session ${sessionId} at iteration ${iteration}`, ...results.map((r) => `  ${verificationLine(r)}`)];
  const c = s.consensus.get(iteration);
  if (!c) {
    const why = results.length === 0 ? 'no verifier checked it (is a verifier group running?)' : `${results.length} group(s) checked it, but no consensus came (is the consensus service running?)`;
    return { lines, code: VERIFY_EXIT.timedOut, message: `session ${sessionId} at iteration ${iteration}: ${why}` };
  }
  lines.push(`  ${consensusLine(c)}`);
  const missing = timedOut && results.length < c.participants ? ` (${c.participants - results.length} group(s) did not report in time)` : '';
  if (c.type === 'ConsensusNotReached') return { lines, code: VERIFY_EXIT.noConsensus, message: `session ${sessionId} is not verified: the groups did not agree on iteration ${iteration}${missing}` };
  if (c.outcome === 'REJECTED') return { lines, code: VERIFY_EXIT.rejected, message: `session ${sessionId} is not verified: consensus REJECTED iteration ${iteration}${missing}` };
  return { lines, code: VERIFY_EXIT.verified, message: `session ${sessionId} verified at iteration ${iteration} by ${c.agreeing} of ${c.participants} groups${missing}` };
}
