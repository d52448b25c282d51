// The solver's limits and the knobs that are part of its output definition.

export interface SolverLimits {
  readonly maxRows: number;
  readonly maxNnz: number;
  /** A cost group closes after this many updates even without `flush`. */
  readonly coalesceMax: number;
  /** Work units each input record grants (one iteration costs nnz + n). */
  readonly recordWork: number;
  /** Iterations between full SolutionPublished at convergence (and on VerificationRequested). */
  readonly solutionEvery: number;
  /** A session without input for this long (event time, µs) is evicted (seed 000 §7.4). */
  readonly idleTimeoutMicros: number;
  /**
   * Consecutive iterations with the residual under the tolerance before ConvergenceReached
   * (seed 000 §3.3: 10). A solve that converges runs consecutive - 1 confirming iterations.
   */
  readonly consecutive: number;
  /** Largest |Δx| components carried by IterationCompleted. */
  readonly topChanges: number;
  /**
   * A flush less than this much event time (µs) after the session's previous group closed still
   * closes its group, but the solver sequences a tick (an IterationSliceGranted) onto the cost
   * partition; until the tick lands no flush closes its group: it closes where the tick lands,
   * with every update that arrived before it. A producer flushing each update faster than
   * re-solves run then gets at most two re-solves per round trip through the broker (which grows
   * with the solver's backlog) instead of a backlog that only grows; a producer the solver keeps
   * up with waits for no round trip on every other update. 0: off.
   */
  readonly minGroupIntervalMicros: number;
  /**
   * Most work units one IterationSliceGranted may carry (a grant of one iteration of a larger
   * session is always allowed): any producer can write a grant, and one asking for 2^63 units
   * would run every owed solve of the session inside one batch.
   */
  readonly maxSliceWork: number;
  /**
   * Most records a partition holds for sessions not open yet (cost-partition records that came
   * before their SessionOpened); beyond it they are refused, so costs for made-up session ids
   * cannot grow memory without bound.
   */
  readonly maxOrphans: number;
}

export const DEFAULT_SOLVER_LIMITS: SolverLimits = Object.freeze({
  maxRows: 2_000_000,
  maxNnz: 20_000_000,
  coalesceMax: 10_000,
  recordWork: 10_000_000,
  solutionEvery: 1000,
  idleTimeoutMicros: 3600 * 1e6,
  consecutive: 10,
  topChanges: 8,
  minGroupIntervalMicros: 5_000,
  maxSliceWork: 100_000_000,
  maxOrphans: 50_000,
});

export interface Clock {
  /** Wall-clock ms, only for iteration_time_ms (excluded from replay comparisons). */
  now(): number;
}
