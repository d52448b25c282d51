// The breaker of one software component (seed 004 CircuitBreaker): it opens when its failures
// reach the threshold, and lets a call through again (HALF_OPEN) once the reset timeout has
// passed since the last failure; a success while half-open closes it and clears the count.
// Components are what StructuralEventObserved names (services, stores, agents reporting their
// own structure); clusters, sectors and the mesh have the breakers of breakers.ts. Pure.
import type { CircuitState } from '../../schemas/generated/events';

export interface ComponentBreaker {
  readonly state: CircuitState;
  readonly failureCount: number;
  readonly failureThreshold: number;
  readonly resetTimeoutUs: number;
  readonly lastFailure: number;
}

export const componentBreaker = (threshold: number, timeoutUs: number): ComponentBreaker => ({
  state: 'CLOSED', failureCount: 0, failureThreshold: threshold, resetTimeoutUs: timeoutUs, lastFailure: 0,
});

/** Seed 004 `CircuitBreaker::new(5, 30_000_000)`, the reflex's per-component breaker. */
export const seedComponentBreaker = () => componentBreaker(5, 30_000_000);

export function recordFailure(cb: ComponentBreaker, at: number): ComponentBreaker {
  const failureCount = cb.failureCount + 1;
  return { ...cb, failureCount, lastFailure: at, state: failureCount >= cb.failureThreshold ? 'OPEN' : cb.state };
}

export function recordSuccess(cb: ComponentBreaker): ComponentBreaker {
  return cb.state === 'HALF_OPEN' ? { ...cb, state: 'CLOSED', failureCount: 0 } : cb;
}

/** The reflex opens it whatever its count. */
export const forceOpen = (cb: ComponentBreaker): ComponentBreaker => (cb.state === 'OPEN' ? cb : { ...cb, state: 'OPEN' });

/** Whether a call may pass at `at`, and the breaker after asking (OPEN turns HALF_OPEN after the timeout). */
export function check(cb: ComponentBreaker, at: number): { readonly allowed: boolean; readonly breaker: ComponentBreaker } {
  switch (cb.state) {
    case 'CLOSED': return { allowed: true, breaker: cb };
    case 'OPEN':
      return at - cb.lastFailure > cb.resetTimeoutUs ? { allowed: true, breaker: { ...cb, state: 'HALF_OPEN' } } : { allowed: false, breaker: cb };
    case 'HALF_OPEN': return { allowed: true, breaker: cb };
    default: { const never: never = cb.state; return never; }
  }
}
