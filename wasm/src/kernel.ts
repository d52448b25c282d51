// The low-level contract both backends implement: the WASM kernel and the plain TypeScript
// reference. Numbers in, numbers out; the typed API on top lives in session.ts.
import type { Csr } from './types';

export interface Kernel {
  readonly n: number;
  /** Copies A in and validates it: 0, or a negative CSR_ERRORS code with badRow(). */
  load(csr: Csr): number;
  badRow(): number;
  zeroDiagonalRows(): number;
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
  restoreX(): void;
  free(): void;
}
