// sublinear-time-solver peer for bench/solver: loads a CSR system written by bench.ts, runs one
// of the package's solve methods on it (the ones that take a user matrix), writes x.
// Usage: node sublinear_peer.mjs <dir> <method> <epsilon> <maxIterations> <timeoutMs>
import { readFileSync, writeFileSync } from 'node:fs';
import { SublinearSolver } from 'sublinear-time-solver';

const [dir, method, eps, maxIt, timeoutMs] = process.argv.slice(2);
const buf = (f) => readFileSync(`${dir}/${f}`);
const typed = (f, T) => { const b = buf(f); return new T(b.buffer, b.byteOffset, b.byteLength / T.BYTES_PER_ELEMENT); };
const rp = typed('rowptr.i32', Int32Array), ci = typed('col.i32', Int32Array), va = typed('val.f64', Float64Array);
const b = Array.from(typed('b.f64', Float64Array));
const n = rp.length - 1;
const rowIndices = new Array(va.length);
for (let i = 0; i < n; i++) for (let k = rp[i]; k < rp[i + 1]; k++) rowIndices[k] = i;
const matrix = { rows: n, cols: n, values: Array.from(va), rowIndices, colIndices: Array.from(ci), format: 'coo' };
const solver = new SublinearSolver({ method, epsilon: Number(eps), maxIterations: Number(maxIt), timeout: Number(timeoutMs), seed: 1 });
const t0 = performance.now();
try {
  const res = await solver.solve(matrix, b);
  const ms = performance.now() - t0;
  writeFileSync(`${dir}/x.sublinear-${method}.f64`, Buffer.from(Float64Array.from(res.solution).buffer));
  console.log(JSON.stringify({ method, seconds: ms / 1000, iterations: res.iterations, reportedResidual: res.residual, reportedConverged: res.converged }));
} catch (err) {
  console.log(JSON.stringify({ method, seconds: (performance.now() - t0) / 1000, error: String(err?.message ?? err) }));
}
