// Every threshold of the guardian's deciders in one value, so the service, the CLI's fold and the
// replay read the log with the same numbers.
import { SEED_BREAKER_POLICY, type BreakerPolicy } from './breakers';
import { SEED_CASCADE_POLICY, type CascadePolicy } from './cascade';
import { SEED_PATTERN_POLICY, type PatternPolicy } from './patterns';

export interface GuardianPolicy {
  readonly breakers: BreakerPolicy;
  readonly cascade: CascadePolicy;
  readonly patterns: PatternPolicy;
  /** Seed 004 CircuitBreaker::new(5, 30 s) per component. */
  readonly componentThreshold: number;
  readonly componentResetUs: number;
  /** Witnesses kept for the health summary. */
  readonly recentWitnesses: number;
}

export const SEED_POLICY: GuardianPolicy = {
  breakers: SEED_BREAKER_POLICY,
  cascade: SEED_CASCADE_POLICY,
  patterns: SEED_PATTERN_POLICY,
  componentThreshold: 5,
  componentResetUs: 30_000_000,
  recentWitnesses: 20,
};
