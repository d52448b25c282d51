// The verifier's work without a broker: (a) the probe residuals b_i - (A x)_i of sampled rows by
// the WASM kernel, beside a plain-JS dot product over the same CSR rows; (b) whole checks of
// published solutions by one group's VerifierCore (solution assembly, its hash, x into the
// kernel, ||b||, probes, verdict), as a verifier process runs them.
import type { SolutionPublished } from '../../schemas/generated/events';
import { packFloat64 } from '../../schemas/packed';
import { derivedEventId } from '../../services/runtime/ids';
import { DEFAULT_SOLVER_LIMITS } from '../../services/solver/domain';
import { openSession } from '../../services/solver/events';
import { VerifierCore } from '../../services/verifier/core';
import { DEFAULT_PROBES, probeSeed, sampleRows } from '../../services/verifier/probes';
import type { Csr, KernelFactory, SolverSession } from '../../wasm';

/** b_i - (A x)_i for each row, in plain JS. */
export function jsResidualRows(a: Csr, b: Float64Array, x: Float64Array, rows: Int32Array): Float64Array {
  const out = new Float64Array(rows.length);
  for (let k = 0; k < rows.length; k++) {
    const i = rows[k]!;
    let dot = 0;
    for (let q = a.rowPtr[i]!; q < a.rowPtr[i + 1]!; q++) dot += a.values[q]! * x[a.colIdx[q]!]!;
    out[k] = b[i]! - dot;
  }
  return out;
}

export interface ProbeTimes {
  /** Drawing the rows (mulberry32, Floyd), per verification. */
  readonly sampleMs: number[];
  readonly kernelMs: number[];
  readonly jsMs: number[];
  /** Largest |kernel - js| over all reps, relative to max |residual|: the two compute the same thing. */
  readonly agreement: number;
}

/** `reps` verifications of `probes` rows each on the kernel holding A, b and x; the rows differ per rep, not per side. */
export function timeProbes(session: SolverSession, a: Csr, b: Float64Array, x: Float64Array, probes: number, reps: number): ProbeTimes {
  const t: ProbeTimes = { sampleMs: [], kernelMs: [], jsMs: [], agreement: 0 };
  let worst = 0;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const rows = sampleRows(a.n, probes, probeSeed('bench', r, 'g1'));
    const t1 = performance.now();
    // Alternate which side runs first, so neither always gets the warm cache lines.
    const runKernel = () => { const s = performance.now(); const v = session.residualRows(rows).residuals; t.kernelMs.push(performance.now() - s); return v; };
    const runJs = () => { const s = performance.now(); const v = jsResidualRows(a, b, x, rows); t.jsMs.push(performance.now() - s); return v; };
    const [k, j] = r % 2 === 0 ? [runKernel(), runJs()] : (() => { const jv = runJs(); return [runKernel(), jv]; })();
    t.sampleMs.push(t1 - t0);
    let scale = 0;
    for (let i = 0; i < k.length; i++) scale = Math.max(scale, Math.abs(j[i]!));
    for (let i = 0; i < k.length; i++) worst = Math.max(worst, Math.abs(k[i]! - j[i]!) / (scale || 1));
  }
  return { ...t, agreement: worst };
}

/** A solution of the session as the solver publishes it: packed chunks of 65,536 values. */
export function solutionChunks(sessionId: string, iteration: number, x: Float64Array): SolutionPublished[] {
  const size = 65_536;
  const count = Math.ceil(x.length / size);
  return [...Array(count).keys()].map((c) => ({
    type: 'SolutionPublished',
    meta: { event_id: derivedEventId(sessionId, `bench-sol:${iteration}:${c}`), correlation_id: sessionId, causation_id: sessionId, occurred_at: 0, producer: 'bench', sequence: iteration },
    session_id: sessionId, iteration, n: x.length, chunk_index: c, chunk_count: count, offset: c * size,
    values: packFloat64(x.subarray(c * size, Math.min(x.length, (c + 1) * size))), applied_through: [],
  }));
}

export interface CheckTimes {
  readonly checkMs: number[];
  /** Rows probed per check. */
  readonly rows: number;
}

/**
 * One group's core holding the session (its SessionOpened and chunks folded), then `checks`
 * solutions folded chunk by chunk; each check timed from its first chunk to its verdict.
 */
export function timeChecks(kernel: KernelFactory, sessionId: string, a: Csr, b: Float64Array, x: Float64Array, checks: number): CheckTimes {
  const core = new VerifierCore(0, { ...DEFAULT_SOLVER_LIMITS, maxRows: a.n, maxNnz: a.values.length }, kernel,
    { group: 'g1', groups: 3, probeCount: DEFAULT_PROBES.count, probeSize: DEFAULT_PROBES.size, fault: 'none' });
  try {
    let offset = 0;
    for (const e of openSession(sessionId, a, b)) core.fold(e, { topic: 'solver.sessions', offset: offset++ });
    const checkMs: number[] = [];
    let rows = 0;
    for (let it = 1; it <= checks; it++) {
      const chunks = solutionChunks(sessionId, it, x);
      const t0 = performance.now();
      let out: ReturnType<VerifierCore['fold']> = [];
      chunks.forEach((c, k) => { out = core.fold(c, { topic: 'solver.solutions', offset: (it - 1) * chunks.length + k }); });
      checkMs.push(performance.now() - t0);
      const done = out.find((o) => o.event.type === 'VerificationCompleted');
      if (!done || done.event.type !== 'VerificationCompleted') throw new Error(`solution ${it} was not checked`);
      rows = done.event.probe_indices.length;
    }
    return { checkMs, rows };
  } finally {
    core.free();
  }
}
