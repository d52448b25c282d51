// One verification's verdict (seed 000 §5): from the probe residuals to VerificationCompleted,
// the group's vote and perhaps a CorrectionRequested, and the session's next watch state. Pure:
// the residuals, the time taken and the ids arrive as data.
import type { CorrectionRequested, VerificationCompleted, VerifierVoteCast } from '../../schemas/generated/events';
import { derivedEventId } from '../runtime/ids';
import { correctionFor } from './correction';
import { EMPTY_HISTORY, track, type History } from './history';
import { componentTolerance, summarize } from './probes';
import { adapt, nextInterval } from '../solver/schedule';
import type { VerifierSettings } from './config';

export const PRODUCER = 'verifier';

/** What a verifier remembers of a session between verifications. */
export interface Watch {
  readonly history: History;
  /** Seed §5.5 adaptive multiplier, in [0.5, 2]. */
  readonly multiplier: number;
}

export const NEW_WATCH: Watch = { history: EMPTY_HISTORY, multiplier: 1 };

export interface Probe {
  readonly sessionId: string;
  readonly iteration: number;
  readonly n: number;
  /** The solution's first chunk: every derived id and the event time come from it. */
  readonly causationId: string;
  readonly occurredAt: number;
  readonly rows: Int32Array;
  /** b_i - (A x)_i per probed row. */
  readonly residuals: ArrayLike<number>;
  readonly bNorm: number;
  readonly tolerance: number;
  readonly interval: number;
  readonly solutionHash: string;
  readonly elapsedMs: number;
}

export type Emitted =
  | { readonly topic: 'solver.verifications'; readonly event: VerificationCompleted | VerifierVoteCast }
  | { readonly topic: 'solver.commands'; readonly event: CorrectionRequested };

export function judge(w: Watch, p: Probe, cfg: VerifierSettings): { watch: Watch; out: Emitted[] } {
  const sum = summarize(p.residuals, p.bNorm, p.n);
  const tol = componentTolerance(p.tolerance, p.bNorm);
  const verified = sum.maxError < tol;
  const { history, assessment: a } = track(w.history, sum.relativeResidual, p.tolerance);
  const correction = correctionFor(a, verified);
  const multiplier = adapt(w.multiplier, verified);
  const next = nextInterval(p.interval, multiplier);
  const meta = (what: string) => ({
    event_id: derivedEventId(p.causationId, `${what}:${cfg.group}`), correlation_id: p.sessionId, causation_id: p.causationId,
    occurred_at: p.occurredAt, producer: PRODUCER, sequence: p.iteration,
  });
  // A non-finite residual (NaN in x) is a failure the schema cannot carry as a number.
  const finite = (v: number) => (Number.isFinite(v) ? v : Number.MAX_VALUE);
  const out: Emitted[] = [{ topic: 'solver.verifications', event: {
    type: 'VerificationCompleted', meta: meta('verification'), session_id: p.sessionId, verifier_id: cfg.group,
    probe_id: derivedEventId(p.causationId, `probe:${cfg.group}`), iteration: p.iteration, n: p.n,
    probe_indices: Array.from(p.rows), residual_components: Array.from(sum.components, finite),
    max_error: finite(sum.maxError), mean_error: finite(sum.meanError), tolerance: tol, verified,
    drift_detected: a.drift, drift_severity: a.severity, stagnation_detected: a.stagnation, divergence_detected: a.divergence,
    next_interval: next, verification_time_ms: p.elapsedMs,
  } }, { topic: 'solver.verifications', event: {
    type: 'VerifierVoteCast', meta: meta('vote'), session_id: p.sessionId, iteration: p.iteration, verifier_id: cfg.group,
    group_count: cfg.groups, verified: cfg.fault === 'lie' ? !verified : verified, max_error: finite(sum.maxError), solution_hash: p.solutionHash,
    next_interval: next, sender_seq: null, signature: null,
  } }];
  if (correction) {
    out.push({ topic: 'solver.commands', event: {
      type: 'CorrectionRequested', meta: { ...meta('correction'), sequence: null }, session_id: p.sessionId, iteration: p.iteration,
      verifier_id: cfg.group, trigger: correction.trigger, severity: correction.severity, action: correction.action,
      step_factor: correction.stepFactor, preconditioner: correction.preconditioner, method: null,
    } });
  }
  return { watch: { history, multiplier }, out };
}
