// Given/when/then helpers for the solver kernel specs.
import { SolverSession, type Backend, type MethodOptions } from '../../../wasm/index';
import type { Csr } from '../../../wasm/src/types';

export interface Outcome {
  readonly status: string;
  readonly iterations: number;
  readonly trueResidual: number;
  readonly x: Float64Array;
}

/** Opens a session on `backend`, solves to completion, reads x back and frees the session. */
export function solveWith(backend: Backend, a: Csr, b: Float64Array, opts: MethodOptions, maxIters = 100_000): Outcome {
  const s = SolverSession.open(a, backend);
  try {
    s.setB(b);
    s.configure(opts);
    const r = s.iterate(maxIters);
    return { status: r.status, iterations: r.iterations, trueResidual: s.trueResidual(), x: s.readX() };
  } finally {
    s.free();
  }
}

/** True when both arrays hold the same doubles bit for bit. */
export function bitIdentical(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length * 2);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}
