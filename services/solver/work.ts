// The iteration work of an active session, paid by its credits: solves started in a fixed order
// (the initial one, then each queued group or command), run in slices, confirmed, and their
// IterationCompleted / ConvergenceReached / SolutionPublished.
import type { ConsensusNotReached, ConsensusReached } from '../../schemas/generated/events';
import type { KernelFactory, Status } from '../../wasm';
import { estimateFor } from './estimate';
import type { Clock, SolverLimits } from './limits';
import { entryIndex } from './matrix';
import { conflictReported, convergenceReached, entryEstimated, iterationCompleted, solutionPublished, type Output } from './outputs';
import { followInterval } from './schedule';
import { PRECOND, METHOD, posKey, type Active, type CostGroup, type SolveState } from './state';

export interface WorkEnv {
  readonly limits: SolverLimits;
  readonly clock: Clock;
  /** Opens the scratch kernels of entry estimates. */
  readonly kernel: KernelFactory;
}

/**
 * The session's arithmetic left the range of a double through valid inputs (b deltas that add
 * up past 1.8e308, products A·x that overflow, a norm of b that does). Its system has no
 * meaningful solution any more, and a warm start from a non-finite x never recovers, so the
 * session ends (SessionClosed FAILED) instead of failing every batch or publishing NaN. Found at
 * the group's turn in the work, after its inputs committed: refusing the group then would drop
 * committed inputs silently.
 */
class NonFinite extends Error {
  constructor(message: string, readonly causation: string, readonly occurredAt: number) { super(message); }
}

/** Why a session's work ended it, and the input that did. */
export interface Failure { readonly message: string; readonly causation: string; readonly occurredAt: number }

const FINAL: ReadonlySet<Status> = new Set(['converged', 'breakdown', 'stagnated', 'diverged', 'not_applicable']);

/** One iteration costs a pass over A and x. */
export const iterationCost = (s: Active): number => s.csr.values.length + s.csr.n;

export const hasWork = (s: Active): boolean => s.initialOwed || s.solve !== undefined || s.intake.jobs.length > 0;

/** Runs the session's work as far as its credits go; a Failure when its values turned non-finite. */
export function workSession(s: Active, env: WorkEnv, out: Output[]): Failure | undefined {
  try {
    runWork(s, env, out);
    return undefined;
  } catch (err) {
    if (!(err instanceof NonFinite)) throw err;
    s.solve = undefined;
    return { message: err.message, causation: err.causation, occurredAt: err.occurredAt };
  }
}

function finiteResidual(s: Active, solve: SolveState, r: number): void {
  if (!Number.isFinite(r)) throw new NonFinite(`the residual of session ${s.id} is not finite (${r}) after iteration ${s.iteration}: A·x or the norm of b overflowed a double`, solve.causation, solve.occurredAt);
}

function runWork(s: Active, env: WorkEnv, out: Output[]): void {
  const cost = iterationCost(s);
  const o = s.opened.options;
  for (;;) {
    const solve = s.solve ?? startNext(s, env, out);
    if (!solve) return;
    const allowed = Math.floor(s.intake.credits / cost);
    if (allowed < 1) return;
    if (solve.confirm) { confirmStep(s, solve, solve.confirm, allowed, env, out); continue; }
    const k = Math.min(allowed, s.interval - solve.sinceEmit, o.max_iterations - solve.done);
    const t0 = env.clock.now();
    const before = solve.done;
    const r = s.kernel.iterate(k);
    solve.timeMs += env.clock.now() - t0;
    const ran = r.iterations - before;
    solve.done = r.iterations;
    solve.sinceEmit += ran;
    s.iteration += ran;
    s.intake.credits -= Math.max(ran, 1) * cost;
    finiteResidual(s, solve, r.residualNorm);
    const final = FINAL.has(r.status) || solve.done >= o.max_iterations;
    if (final || solve.sinceEmit >= s.interval) emitIteration(s, solve, env.limits, out);
    if (!final) continue;
    // The kernel's estimate said converged; the last reported true residual must agree (none
    // reported yet: the kernel's word stands).
    if (r.status !== 'converged' || (s.lastResidual !== null && !(s.lastResidual <= o.tolerance))) { s.solve = undefined; continue; }
    if (env.limits.consecutive <= 1) { converged(s, solve, 1, env.limits, out); continue; }
    // Seed 000 §3.3 signals convergence after the residual stayed under the threshold for
    // `consecutive` iterations, so a transient dip (BiCGSTAB, stationary methods) is not
    // announced. The solve goes on with the method that converged and no stopping tolerance.
    const step = s.kernel.current();
    s.kernel.configure({ method: step.method, precond: step.precond, omega: s.omega, tol: Number.MIN_VALUE, amgReuse: false });
    solve.confirm = { below: 1, done: 0 };
  }
}

/** Confirming iterations, one kernel call each so every iteration's residual is seen. */
function confirmStep(s: Active, solve: SolveState, c: { below: number; done: number }, allowed: number, env: WorkEnv, out: Output[]): void {
  const o = s.opened.options;
  const { consecutive } = env.limits;
  const k = Math.min(allowed, s.interval - solve.sinceEmit, consecutive - c.below);
  const t0 = env.clock.now();
  let ran = 0;
  let ended = false;
  while (ran < k) {
    const r = s.kernel.iterate(1);
    finiteResidual(s, solve, r.residualNorm);
    const step = r.iterations - c.done;
    c.done = r.iterations;
    ran += step;
    if (r.status === 'converged') { c.below = consecutive; ended = true; break; } // solved exactly
    if (step === 0 || FINAL.has(r.status)) { ended = true; break; }
    c.below = r.residualNorm <= o.tolerance ? c.below + 1 : 0;
  }
  solve.timeMs += env.clock.now() - t0;
  solve.done += ran;
  solve.sinceEmit += ran;
  s.iteration += ran;
  s.intake.credits -= Math.max(ran, 1) * iterationCost(s);
  const confirmed = c.below >= consecutive;
  const done = ended || confirmed || c.done >= o.max_iterations;
  if (done || solve.sinceEmit >= s.interval) emitIteration(s, solve, env.limits, out);
  if (!done) return;
  if (confirmed && s.lastResidual !== null && s.lastResidual <= o.tolerance) converged(s, solve, c.below, env.limits, out);
  else s.solve = undefined;
}

/** Starts the next owed solve; undefined when the session is quiescent. */
function startNext(s: Active, env: WorkEnv, out: Output[]): SolveState | undefined {
  if (s.initialOwed) {
    s.initialOwed = false;
    return begin(s, s.opened.meta.event_id, s.opened.meta.occurred_at);
  }
  const job = s.intake.jobs.shift();
  if (!job) return undefined;
  if (job.kind === 'group') {
    const bad = applyGroup(s, job.group, out);
    if (bad) throw new NonFinite(bad, job.group.last.eventId, job.group.last.occurredAt);
    return begin(s, job.group.last.eventId, job.group.last.occurredAt);
  }
  s.applied[posKey(job.ref)] = job.ref.offset;
  const c = job.command;
  if (c.type === 'VerificationRequested') {
    publish(s, c.meta.event_id, job.ref.occurredAt, out);
    return startNext(s, env, out);
  }
  if (c.type === 'EntryEstimateRequested') {
    out.push(entryEstimated(s, c, job.ref.occurredAt, estimateFor(s, c, env.kernel)));
    return startNext(s, env, out);
  }
  if (c.type === 'ConsensusReached' || c.type === 'ConsensusNotReached') {
    follow(s, c);
    return startNext(s, env, out);
  }
  switch (c.action) {
    case 'ADJUST_STEP': s.omega = Math.min(1.9, Math.max(0.1, s.omega * (c.step_factor ?? 1))); break;
    case 'RESTART_PRECONDITIONER': if (c.preconditioner) s.precond = PRECOND[c.preconditioner]; break;
    case 'RESTART_METHOD': if (c.method) s.method = METHOD[c.method]; break;
    case 'FULL_RESTART': s.kernel.setX(new Float64Array(s.csr.n)); break;
    default: { const never: never = c.action; void never; }
  }
  return begin(s, c.meta.event_id, job.ref.occurredAt);
}

/**
 * A consensus result, at its turn after the solves before it: the verdict the outputs report
 * from here, and the agreed interval (seed 000 §5.5) the next solves emit at. A round that
 * closed without agreement leaves the interval alone (no value was agreed) and reports x not
 * verified. A result on an older solution than the one already judged changes nothing.
 */
function follow(s: Active, c: ConsensusReached | ConsensusNotReached): void {
  if (s.verdict && c.iteration < s.verdict.iteration) return;
  if (c.type === 'ConsensusNotReached') {
    s.verdict = { iteration: c.iteration, verified: false, score: share(c.verified_votes, c.participants), agreement: null, participants: c.participants };
    return;
  }
  s.verdict = {
    iteration: c.iteration, verified: c.outcome === 'VERIFIED', score: c.verified_votes === null ? null : share(c.verified_votes, c.participants),
    agreement: c.agreement_level, participants: c.participants,
  };
  if (c.next_interval !== null) s.interval = followInterval(s.opened.options.verification_interval, c.next_interval);
}

const share = (votes: number, n: number) => Math.min(1, votes / n);

function begin(s: Active, causation: string, occurredAt: number): SolveState {
  // Every solve starts the configured method afresh from the current x (hybrid re-picks), so
  // a restored session continues exactly like the one that was never stopped.
  // amgReuse false: an AMG hierarchy is a function of the current A alone, as after a restore.
  s.kernel.configure({ method: s.method, tol: s.opened.options.tolerance, precond: s.precond, omega: s.omega, amgReuse: false });
  const solve: SolveState = { done: 0, sinceEmit: 0, lastResidual: s.kernel.trueResidual(), timeMs: 0, causation, occurredAt };
  finiteResidual(s, solve, solve.lastResidual);
  s.solve = solve;
  return solve;
}

/**
 * Applies a closed cost group to b and A (the verifiers apply it to their copies too). Returns
 * why it cannot when its b deltas take an entry of b past the range of a double; the session
 * must then end (b is left partly updated).
 */
export function applyGroup(s: Active, g: CostGroup, out: Output[]): string | undefined {
  const { kernel, b, csr } = s;
  Object.assign(s.applied, g.through);
  const touched = new Set<number>();
  const p = g.updates;
  for (let k = 0; k < p.bIndex.length; k++) {
    const i = p.bIndex[k]!;
    b[i] = b[i]! + p.bDelta[k]!;
    if (!Number.isFinite(b[i])) return `b[${i}] of session ${s.id} is not finite (${b[i]}) after the cost group through ${g.last.topic}/${g.last.partition}@${g.last.offset}: its deltas overflowed a double`;
    touched.add(i);
  }
  // b and A are independent, so their edits need no interleaving. All of the group's A edits go
  // to the kernel in one call, in log order (each checked against the value the previous left):
  // every applying call costs an O(n) pass over the diagonal, which at one edit per 100 updates
  // took 12% of the service's CPU on a 1e5 session. Conflicts keep log order.
  if (p.edits.length > 0) {
    const results = kernel.updateA(p.edits.flatMap((u) => u.updates.map((m) => ({ row: m.row, col: m.col, oldValue: m.old_value, newValue: m.new_value }))));
    let at = 0;
    for (const u of p.edits) {
      for (let k = 0; k < u.updates.length; k++, at++) {
        const m = u.updates[k]!, r = results[at]!;
        if (r.outcome === 'applied') csr.values[entryIndex(csr, m.row, m.col)] = m.new_value;
        else if (r.outcome === 'old_value_mismatch') { s.conflicts++; out.push(conflictReported(s, u, k, r.current)); }
      }
    }
  }
  s.updatesApplied += p.count;
  if (touched.size > 0) {
    const idx = Int32Array.from([...touched].sort((p, q) => p - q));
    kernel.updateB(idx, Float64Array.from(idx, (i) => b[i]!));
  }
  return undefined;
}

function emitIteration(s: Active, solve: SolveState, limits: SolverLimits, out: Output[]): void {
  if (solve.sinceEmit < 1) return;
  const residual = s.kernel.trueResidual();
  finiteResidual(s, solve, residual);
  const rate = solve.lastResidual > 0 ? Math.pow(residual / solve.lastResidual, 1 / solve.sinceEmit) : 0;
  const x = s.kernel.readX();
  const top = largestChanges(s.prevX, x, limits.topChanges);
  out.push(iterationCompleted(s, solve, { residual, rate, x, top, method: s.kernel.current().method }));
  s.prevX = x;
  s.lastResidual = residual;
  solve.lastResidual = residual;
  solve.sinceEmit = 0;
  solve.timeMs = 0;
}

/** Ends a solve whose residual stayed under the tolerance `below` iterations in a row. */
function converged(s: Active, solve: SolveState, below: number, limits: SolverLimits, out: Output[]): void {
  out.push(convergenceReached(s, solve, below, s.lastResidual ?? solve.lastResidual));
  if (s.lastPublished < 0 || s.iteration - s.lastPublished >= limits.solutionEvery) publish(s, solve.causation, solve.occurredAt, out);
  s.solve = undefined;
}

function publish(s: Active, causation: string, occurredAt: number, out: Output[]): void {
  const x = s.kernel.readX();
  s.lastPublished = s.iteration;
  out.push(...solutionPublished(s, x, causation, occurredAt));
}

function largestChanges(prev: Float64Array, x: Float64Array, k: number): number[] {
  const best: number[] = [];
  const d = (i: number) => Math.abs(x[i]! - prev[i]!);
  for (let i = 0; i < x.length; i++) {
    if (best.length === k && d(i) <= d(best[k - 1]!)) continue;
    let at = best.length < k ? best.length : k - 1;
    best[at] = i;
    while (at > 0 && d(best[at]!) > d(best[at - 1]!)) { [best[at], best[at - 1]] = [best[at - 1]!, best[at]!]; at--; }
  }
  return best.filter((i) => d(i) > 0);
}
