// What `solvermesh session watch` prints for each event of a session and when it stops. Pure:
// decoded events in, lines and an exit decision out; the command owns the consumer.
import type { ConsensusNotReached, ConsensusReached, EventOf, InputPosition, IterationCompleted, VerificationCompleted } from '../../schemas/generated/events';
import { unreachable } from '../runtime/errors';
import { isOneOf } from '../runtime/processor';

const WATCHED_TYPES = [
  'IterationCompleted', 'ConvergenceReached', 'SessionOpened', 'SessionRejected', 'SessionClosed', 'ConflictReported',
  'VerificationCompleted', 'ConsensusReached', 'ConsensusNotReached', 'VerifierFaultReported',
] as const;
export type WatchedEvent = EventOf<(typeof WATCHED_TYPES)[number]>;
export const isWatched = isOneOf(WATCHED_TYPES);

export interface WatchOptions {
  readonly untilConverged: boolean;
  /**
   * Last solver.costs offset of this session per partition when the watch began: with
   * --until-converged only a convergence that has folded these in counts, so a convergence
   * from before the latest updates does not end the watch.
   */
  readonly costsThrough: ReadonlyMap<number, number>;
}

export interface WatchStep {
  readonly line?: string;
  readonly exit?: { readonly code: 0 | 1; readonly message: string };
}

const stripPrefix = (topic: string, prefix: string) => (topic.startsWith(prefix) ? topic.slice(prefix.length) : topic);

export function positionsText(ps: readonly InputPosition[], prefix = ''): string {
  return ps.map((p) => `${stripPrefix(p.topic, prefix)}[${p.partition}]@${p.offset}`).join(',') || '-';
}

/** True when the positions cover every solver.costs offset the watch has to see folded in. */
export function coversCosts(ps: readonly InputPosition[], need: ReadonlyMap<number, number>, prefix = ''): boolean {
  for (const [partition, offset] of need) {
    const at = ps.find((p) => stripPrefix(p.topic, prefix) === 'solver.costs' && p.partition === partition);
    if (!at || at.offset < offset) return false;
  }
  return true;
}

const exp = (v: number) => v.toExponential(3);

/** One group's check of one solution (seed 000 §5.1-5.3, §5.5). */
export function verificationLine(e: VerificationCompleted): string {
  const flags = [e.drift_detected && `drift (severity ${e.drift_severity.toFixed(3)})`, e.stagnation_detected && 'stagnation', e.divergence_detected && 'divergence'].filter(Boolean);
  return `verification ${e.verifier_id} at iteration ${e.iteration}: ${e.verified ? 'verified' : 'FAILED'} max_error ${exp(e.max_error)} (tol ${exp(e.tolerance)}) on ${e.probe_indices.length} rows${flags.length ? `, ${flags.join(', ')}` : ''}, next interval ${e.next_interval}`;
}

/** A round's result (seed 000 §3.5). */
export function consensusLine(e: ConsensusReached | ConsensusNotReached): string {
  if (e.type === 'ConsensusNotReached') {
    return `no consensus at iteration ${e.iteration}: ${e.verified_votes} verified, ${e.rejected_votes} rejected of ${e.participants} groups (${e.threshold} needed)`;
  }
  const outliers = e.outlier_verifier_ids.length ? `, outliers ${e.outlier_verifier_ids.join(',')}` : '';
  const next = e.next_interval !== null ? `, next interval ${e.next_interval}` : '';
  return `consensus at iteration ${e.iteration}: ${e.outcome} by ${e.agreeing} of ${e.participants} groups (${e.threshold} needed, agreement ${e.agreement_level.toFixed(2)})${outliers}${next}`;
}

/** What an iteration says of verification: the interval in force and the last verdict the solver followed. */
function verifiedText(e: Pick<IterationCompleted, 'verification_interval' | 'verified' | 'verified_iteration' | 'swarm_consensus'>): string {
  const interval = e.verification_interval !== null ? ` interval ${e.verification_interval}` : '';
  if (e.verified === null) return interval;
  const agreement = e.swarm_consensus !== null ? ` agreement ${e.swarm_consensus.toFixed(2)}` : '';
  return `${interval} verified ${e.verified ? 'yes' : 'no'}@${e.verified_iteration ?? '?'}${agreement}`;
}

export function watchStep(e: WatchedEvent, o: WatchOptions, prefix = ''): WatchStep {
  switch (e.type) {
    case 'SessionOpened':
      return { line: `opened ${e.rows}x${e.cols} nnz=${e.nnz} method=${e.method} tol=${e.options.tolerance} max_iterations=${e.options.max_iterations} chunks=${e.chunk_count}` };
    case 'IterationCompleted':
      return {
        line: `iteration ${e.iteration} residual ${e.residual_norm.toExponential(3)} rate ${e.convergence_rate.toFixed(4)} method ${e.method}${verifiedText(e)} applied_through ${positionsText(e.applied_through, prefix)}`,
      };
    case 'ConvergenceReached': {
      const line = `converged at iteration ${e.iteration} residual ${e.residual_norm.toExponential(3)} <= tol ${e.tolerance} (${e.iterations_below_threshold} checks below)${verifiedText({ ...e, verification_interval: null })} applied_through ${positionsText(e.applied_through, prefix)}`;
      if (o.untilConverged && coversCosts(e.applied_through, o.costsThrough, prefix)) return { line, exit: { code: 0, message: `session ${e.session_id} converged at iteration ${e.iteration}` } };
      return { line };
    }
    case 'VerificationCompleted':
      return { line: verificationLine(e) };
    case 'ConsensusReached':
    case 'ConsensusNotReached':
      return { line: consensusLine(e) };
    case 'VerifierFaultReported':
      return { line: `verifier ${e.verifier_id} ${e.fault} at iteration ${e.iteration}: ${e.detail}` };
    case 'ConflictReported':
      return { line: `conflict ${e.detail.conflict_type} from ${e.agent_id}: expected ${e.detail.expected_value ?? '-'}, A holds ${e.detail.received_value ?? '-'} (update not applied)` };
    case 'SessionRejected':
      // A second SessionOpened of the id was refused: the watched session goes on.
      if (e.reason === 'DUPLICATE_SESSION') return { line: `refused a second open of this id: ${e.message}` };
      return { line: `rejected ${e.reason}: ${e.message}`, exit: { code: 1, message: `session ${e.session_id} was rejected (${e.reason}): ${e.message}` } };
    case 'SessionClosed': {
      const line = `closed ${e.reason}${e.final_iteration !== null ? ` at iteration ${e.final_iteration}` : ''}${e.final_residual_norm !== null ? ` residual ${e.final_residual_norm.toExponential(3)}` : ''}${e.message ? `: ${e.message}` : ''}`;
      const ok = !o.untilConverged || e.reason === 'CONVERGED';
      return { line, exit: ok ? { code: 0, message: `session ${e.session_id} closed (${e.reason})` } : { code: 1, message: `session ${e.session_id} closed (${e.reason}) before converging on every update` } };
    }
    default:
      return unreachable(e);
  }
}

/** The JSON line of --json: the event without its envelope, plus where it sits in the log. */
export function watchJson(e: WatchedEvent, where: { topic: string; partition: number; offset: string }): Record<string, unknown> {
  const { meta, ...fields } = e;
  void meta;
  const body: Record<string, unknown> = { ...fields };
  if (e.type === 'ConflictReported') {
    const d = { ...e.detail, conflicting_data: e.detail.conflicting_data ? e.detail.conflicting_data.length : null };
    body.detail = d;
  }
  return { ...where, ...body };
}

/** What the watch shows of a dead-lettered input of the session (the solver refused it). */
export interface DeadLettered {
  readonly source: { readonly topic: string; readonly partition: number; readonly offset: number };
  readonly errorClass: string;
  readonly errorMessage: string;
}

export function deadLetterOf(headers: Readonly<Record<string, string>>, prefix = ''): DeadLettered | undefined {
  const topic = headers['dlq.source.topic'];
  const partition = Number(headers['dlq.source.partition']);
  const offset = Number(headers['dlq.source.offset']);
  if (topic === undefined || !Number.isInteger(partition) || !Number.isInteger(offset)) return undefined;
  return {
    source: { topic: stripPrefix(topic, prefix), partition, offset },
    errorClass: headers['dlq.error.class'] ?? '?', errorMessage: headers['dlq.error.message'] ?? '',
  };
}

export const deadLetterLine = (d: DeadLettered) =>
  `dead-lettered ${d.source.topic}[${d.source.partition}]@${d.source.offset} ${d.errorClass}: ${d.errorMessage}`;

/**
 * The cost offsets a convergence has to cover: per partition, the session's latest update the
 * solver did not dead-letter (a refused update is never folded in, so it cannot be waited for).
 */
export function costsToCover(offsets: ReadonlyMap<number, readonly number[]>, deadLettered: ReadonlySet<string>): Map<number, number> {
  const need = new Map<number, number>();
  for (const [partition, list] of offsets) {
    const live = list.filter((o) => !deadLettered.has(`${partition}@${o}`));
    if (live.length > 0) need.set(partition, Math.max(...live));
  }
  return need;
}
