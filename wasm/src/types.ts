import type { Status, UpdateOutcome } from './codes';

/** Compressed sparse rows; columns strictly increasing within each row. */
export interface Csr {
  readonly n: number;
  readonly rowPtr: Int32Array;
  readonly colIdx: Int32Array;
  readonly values: Float64Array;
}

export interface IterateResult {
  readonly status: Status;
  /** Iterations since the last (re)start; hybrid counts across its fallbacks. */
  readonly iterations: number;
  /** The method's residual estimate relative to ||b||; the true one once converged. */
  readonly residualNorm: number;
}

export interface EntryUpdate {
  readonly row: number;
  readonly col: number;
  readonly oldValue: number;
  readonly newValue: number;
}

export interface EntryUpdateResult {
  readonly outcome: UpdateOutcome;
  /** The value A held before this update was considered (0 when not in the pattern). */
  readonly current: number;
}

export interface Analysis {
  readonly symmetric: boolean;
  readonly positiveDiagonal: boolean;
  readonly weaklyDiagonallyDominant: boolean;
  readonly strictlyDiagonallyDominant: boolean;
  /** max_i Σ_{j≠i}|a_ij| / |a_ii|: below 1 means strictly diagonally dominant. */
  readonly dominanceRatio: number;
  /** Every off-diagonal entry ≤ 0 (a Z-matrix): with a positive, dominant diagonal, an M-matrix. */
  readonly offDiagonalNonPositive?: boolean;
}

export interface EntryEstimate {
  readonly value: number;
  /** |x_i - value| ≤ bound (with probability 1 - delta for random walks); Infinity if unknown. */
  readonly bound: number;
  /** Pushes or walk steps taken: the cost, independent of n. */
  readonly work: number;
}
