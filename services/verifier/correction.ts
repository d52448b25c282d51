// What a verifier asks the solver to do about what it saw (seed 000 §5.4).
import type { CorrectionAction, CorrectionTrigger, Preconditioner } from '../../schemas/generated/events';
import type { Assessment } from './history';

export interface Correction {
  readonly trigger: CorrectionTrigger;
  readonly severity: number;
  readonly action: CorrectionAction;
  readonly stepFactor: number | null;
  readonly preconditioner: Preconditioner | null;
}

/** Seed §5.4 handleDrift: < 0.2 adjust the step (x0.8), < 0.5 restart with a stronger preconditioner (ilu), else restart fully. */
export function forDrift(severity: number): Pick<Correction, 'action' | 'stepFactor' | 'preconditioner'> {
  if (severity < 0.2) return { action: 'ADJUST_STEP', stepFactor: 0.8, preconditioner: null };
  if (severity < 0.5) return { action: 'RESTART_PRECONDITIONER', stepFactor: null, preconditioner: 'ILU' };
  return { action: 'FULL_RESTART', stepFactor: null, preconditioner: null };
}

/**
 * The correction an assessment calls for, or null. A solution that verified needs none, even
 * while the smoothed history still carries an earlier excursion. Divergence restarts fully;
 * drift goes by its severity; stagnation restarts with the stronger preconditioner.
 */
export function correctionFor(a: Assessment, verified: boolean): Correction | null {
  if (verified) return null;
  if (a.divergence) return { trigger: 'DIVERGENCE', severity: a.severity, action: 'FULL_RESTART', stepFactor: null, preconditioner: null };
  if (a.drift) return { trigger: 'DRIFT', severity: a.severity, ...forDrift(a.severity) };
  if (a.stagnation) return { trigger: 'STAGNATION', severity: a.severity, action: 'RESTART_PRECONDITIONER', stepFactor: null, preconditioner: 'ILU' };
  return null;
}
