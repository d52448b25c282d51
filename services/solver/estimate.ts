// Single-entry estimates (EntryEstimateRequested -> EntryEstimated): x_i of A x = b for A and b
// as of the request's place in the session's cost partition, by the kernel's local push or
// seeded random walks, without a full solve.
//
// The estimate runs on a kernel of its own, loaded from the session's A and b and freed after:
// the kernel's estimate caches analyse A, and an analysed kernel relaxes x on later cost updates
// (wasm/src/session.ts `analyzed`), so estimating on the session's kernel would change the solve's
// next iterations. The copy costs O(nnz) per request; the estimate itself touches only rows near i.
import type { EntryEstimateRequested, EstimateMethod } from '../../schemas/generated/events';
import { KernelError, type KernelFactory, type SolverSession } from '../../wasm';
import { InputRejected } from './intake';
import type { Active, SessionState } from './state';

/** Pushes one estimate may spend (the kernel's default): bounds a hostile eps. */
export const MAX_PUSHES = 1_000_000;

export interface EstimateFacts {
  readonly estimate: number;
  readonly bound: number;
  readonly confidence: number;
  readonly method: EstimateMethod;
  readonly work: number;
  /** Why nothing is claimed; null for an estimate. */
  readonly refusal: string | null;
}

/** A request that can never be answered for `s` (the processor dead-letters it with this reason). */
export function checkEstimate(e: EntryEstimateRequested, s: SessionState | undefined): void {
  if (s && (s.status === 'closed' || s.status === 'rejected')) throw new InputRejected(`session ${e.session_id} is ${s.status} (${s.why}): no estimate`);
  if (s && e.index >= s.opened.rows) throw new InputRejected(`index ${e.index} is outside 0..${s.opened.rows - 1} of the ${s.opened.rows}-unknown session ${e.session_id}`);
  if (!(e.eps > 0) || !Number.isFinite(e.eps)) throw new InputRejected(`eps must be a positive finite number (got ${e.eps})`);
}

const refused = (method: EstimateMethod, why: string): EstimateFacts => ({ estimate: 0, bound: 0, confidence: 0, method, work: 0, refusal: why });

/** The answer to `e` on the session's current A and b. Total: what cannot be estimated is a refusal, never a throw. */
export function estimateFor(s: Active, e: EntryEstimateRequested, kernel: KernelFactory): EstimateFacts {
  const n = s.csr.n;
  // A request sequenced before the session existed skipped the check of its index.
  if (e.index >= n) return refused(e.method, `index ${e.index} is outside 0..${n - 1}`);
  let k: SolverSession | undefined;
  try {
    k = kernel(s.csr);
    k.setB(s.b);
    const an = k.analyze();
    if (!an.strictlyDiagonallyDominant) {
      return refused(e.method, `A is not strictly diagonally dominant (max row ratio ${an.dominanceRatio}): the sublinear estimators have no finite bound; read x_i from the solution instead`);
    }
    const walk = e.method === 'RANDOM_WALK_NEUMANN';
    const r = walk
      ? k.estimateEntry(e.index, { eps: e.eps, algorithm: 'walk', walks: e.walks, delta: e.delta, seed: e.seed >>> 0 })
      : k.estimateEntry(e.index, { eps: e.eps, algorithm: 'push', maxPushes: MAX_PUSHES });
    if (!Number.isFinite(r.value) || !Number.isFinite(r.bound)) return refused(e.method, `the ${walk ? 'walk' : 'push'} estimate came out non-finite (value ${r.value}, bound ${r.bound})`);
    return { estimate: r.value, bound: r.bound, confidence: walk ? 1 - e.delta : 1, method: e.method, work: r.work, refusal: null };
  } catch (err) {
    if (err instanceof KernelError) return refused(e.method, `the kernel could not estimate: ${err.detail}`);
    throw err;
  } finally {
    k?.free();
  }
}
