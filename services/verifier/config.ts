// The verifier's knobs (VERIFIER_*), declared as data, and the solver's knobs that decide where
// its cost groups close: the verifier's copy of A and b must close them at the same records.
import type { KnobDecls, KnobValues } from '../runtime/knobs';
import { DEFAULT_SOLVER_LIMITS, type SolverLimits } from '../solver/domain';
import { SOLVER_KNOBS } from '../solver/config';
import { DEFAULT_PROBES } from './probes';

export const FAULTS = ['none', 'lie'] as const;
export type Fault = (typeof FAULTS)[number];

export const VERIFIER_KNOBS = {
  verifierGroup: { env: 'VERIFIER_GROUP', kind: 'string', default: 'g1', doc: 'This verifier group\'s id (`solvermesh run verifier --group <g>` sets it): its consumer group and its probe seed.' },
  verifierGroups: { env: 'VERIFIER_GROUPS', kind: 'int', default: 1, min: 1, max: 1000, doc: 'Number n of verifier groups deployed; consensus needs floor(2n/3)+1 agreeing votes. The same value for every group and the consensus service.' },
  verifierProbeCount: { env: 'VERIFIER_PROBE_COUNT', kind: 'int', default: DEFAULT_PROBES.count, min: 1, max: 100_000, doc: 'Probes per scheduled verification (seed 000 §5.1: 10); a VerificationRequested sets its own.' },
  verifierProbeSize: { env: 'VERIFIER_PROBE_SIZE', kind: 'int', default: DEFAULT_PROBES.size, min: 1, max: 100_000, doc: 'Rows per probe (seed: min(100, n)); a verification probes min(n, count x size) distinct rows.' },
  verifierFault: { env: 'VERIFIER_FAULT', kind: 'enum', values: FAULTS, default: 'none', doc: 'Test hook: `lie` makes this group vote the opposite of what its probes found (a Byzantine group for the consensus specs). Never set it in production.' },
  solverCoalesceMax: SOLVER_KNOBS.solverCoalesceMax,
  solverMinGroupIntervalMs: SOLVER_KNOBS.solverMinGroupIntervalMs,
  solverIdleTimeoutS: SOLVER_KNOBS.solverIdleTimeoutS,
  solverMaxRows: SOLVER_KNOBS.solverMaxRows,
  solverMaxNnz: SOLVER_KNOBS.solverMaxNnz,
} as const satisfies KnobDecls;

export type VerifierKnobs = KnobValues<typeof VERIFIER_KNOBS>;

export interface VerifierSettings {
  readonly group: string;
  readonly groups: number;
  readonly probeCount: number;
  readonly probeSize: number;
  readonly fault: Fault;
}

export const verifierSettings = (k: VerifierKnobs): VerifierSettings => ({
  group: k.verifierGroup, groups: k.verifierGroups, probeCount: k.verifierProbeCount, probeSize: k.verifierProbeSize, fault: k.verifierFault as Fault,
});

/** The solver's limits as far as they shape the intake fold the verifier shares. */
export const replicaLimits = (k: VerifierKnobs): SolverLimits => ({
  ...DEFAULT_SOLVER_LIMITS, coalesceMax: k.solverCoalesceMax, minGroupIntervalMicros: k.solverMinGroupIntervalMs * 1000,
  idleTimeoutMicros: k.solverIdleTimeoutS * 1e6, maxRows: k.solverMaxRows, maxNnz: k.solverMaxNnz,
});
