// The low-level contract both backends implement: the WASM kernel and the plain TypeScript
// reference. Numbers in, numbers out; the typed API on top lives in session.ts.
import type { Csr } from './types';

export interface Kernel {
  readonly n: number;
  /** Copies A in and validates it: 0, or a negative CSR_ERRORS code with badRow(). */
  load(csr: Csr): number;
  badRow(): number;
  zeroDiagonalRows(): number;
  /** Entries in A's longest row. */
  maxRowNnz(): number;
  setB(b: ArrayLike<number>): void;
  setX(x: ArrayLike<number>): void;
  readX(): Float64Array;
  readB(): Float64Array;
  updateB(indices: Int32Array, values: Float64Array): void;
  /** Returns outcome codes and the values A held, per entry. */
  updateA(rows: Int32Array, cols: Int32Array, olds: Float64Array, news: Float64Array): { codes: Int32Array; current: Float64Array };
  start(method: number, precond: number, omega: number): number;
  iterate(maxIters: number, tol: number, stagnationWindow: number): number;
  iterations(): number;
  residualNorm(): number;
  trueResidual(): number;
  residualRows(rows: Int32Array): { residuals: Float64Array; maxAbs: number };
  analyze(symTol: number): { flags: number; rho: number };
  estimatePush(i: number, eps: number, maxPushes: number): { value: number; bound: number; work: number };
  estimateWalk(i: number, eps: number, walks: number, seed: number, delta: number): { value: number; bound: number; work: number };
  backupX(): void;
  /** M⁻¹ src with the preconditioner the last start() prepared. */
  applyPreconditioner(src: Float64Array): Float64Array;
  /** AMG: the next start() with amg builds the hierarchy from scratch instead of recomputing its values. */
  amgReset(): void;
  /** How many full AMG setups and value-only rebuilds start() has run. */
  amgSetups(): { full: number; rebuild: number };
  /** The AMG hierarchy, finest level first (empty before the first AMG start). */
  amgHierarchy(): AmgLevelInfo[];
  restoreX(): void;
  free(): void;
}

/** One AMG level: its matrix (coarse rows in the setup's discovery order, not sorted) and, below the coarsest, aggregates and P. */
export interface AmgLevelInfo {
  readonly n: number;
  readonly a: SparseRows;
  readonly agg?: Int32Array;
  readonly nc?: number;
  readonly p?: SparseRows;
}

export interface SparseRows { readonly rowPtr: Int32Array; readonly colIdx: Int32Array; readonly values: Float64Array }
