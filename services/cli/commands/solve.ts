// `solvermesh solve`: a one-off solve of a Matrix Market system, no Kafka involved.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { METHODS, PRECONDITIONERS, SolverSession, isMethod, isPreconditioner, multiply, relativeResidual } from '../../../wasm/index';
import { matrixMarketToCsr, matrixMarketToVector, parseMatrixMarket, writeMatrixMarketVector } from '../../solver/matrix-market';

interface SolveFlags {
  matrix: string;
  rhs?: string;
  method: string;
  precond: string;
  tol: string;
  maxIters: string;
  out?: string;
  json?: boolean;
  backend: string;
}

function readMm(path: string, what: string) {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} '${path}': ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    return parseMatrixMarket(text);
  } catch (err) {
    throw new Error(`${what} '${path}': ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function runSolve(flags: SolveFlags, print: (line: string) => void): void {
  if (!isMethod(flags.method)) throw new Error(`--method must be one of ${METHODS.join(', ')} (got '${flags.method}')`);
  if (!isPreconditioner(flags.precond)) throw new Error(`--precond must be one of ${PRECONDITIONERS.join(', ')} (got '${flags.precond}')`);
  const tol = Number(flags.tol);
  if (!(tol > 0) || !Number.isFinite(tol)) throw new Error(`--tol must be a positive number (got '${flags.tol}')`);
  const maxIters = Number(flags.maxIters);
  if (!Number.isInteger(maxIters) || maxIters < 1) throw new Error(`--max-iters must be a positive integer (got '${flags.maxIters}')`);
  if (flags.backend !== 'wasm' && flags.backend !== 'reference') throw new Error(`--backend must be wasm or reference (got '${flags.backend}')`);

  const a = matrixMarketToCsr(readMm(flags.matrix, 'matrix'));
  let b: Float64Array;
  let rhsNote = flags.rhs ?? 'b = A·1';
  if (flags.rhs !== undefined) {
    b = matrixMarketToVector(readMm(flags.rhs, 'rhs'));
    if (b.length !== a.n) throw new Error(`rhs has ${b.length} entries but the matrix has ${a.n} rows`);
  } else {
    b = multiply(a, new Float64Array(a.n).fill(1));
    rhsNote = 'b = A·1 (no --rhs given)';
  }

  const t0 = performance.now();
  const session = SolverSession.open(a, flags.backend);
  try {
    session.setB(b);
    session.configure({ method: flags.method, precond: flags.precond, tol });
    const result = session.iterate(maxIters);
    const ms = performance.now() - t0;
    const x = session.readX();
    // Recomputed here from the CSR, independent of the kernel's own bookkeeping.
    const residual = relativeResidual(a, x, b);
    const used = session.current();
    const report = {
      status: result.status,
      method: flags.method,
      ran: `${used.method}${used.method === 'cg' || used.method === 'bicgstab' ? `+${used.precond}` : ''}`,
      n: a.n,
      nnz: a.values.length,
      iterations: result.iterations,
      trueRelativeResidual: residual,
      tol,
      ms: Math.round(ms * 100) / 100,
      rhs: rhsNote,
    };
    if (flags.out !== undefined) {
      writeFileSync(flags.out, writeMatrixMarketVector(x, `solvermesh solve: ${report.ran}, ${report.iterations} iterations, ||b-Ax||/||b|| = ${residual}`));
    }
    if (flags.json === true) print(JSON.stringify(report));
    else {
      print(`status      ${report.status} (${report.ran})`);
      print(`size        n=${report.n} nnz=${report.nnz}`);
      print(`iterations  ${report.iterations}`);
      print(`residual    ${residual.toExponential(3)} (true ||b-Ax||/||b||, tol ${tol})`);
      print(`time        ${report.ms} ms`);
      print(`rhs         ${rhsNote}`);
      if (flags.out !== undefined) print(`x written   ${flags.out}`);
    }
    if (result.status !== 'converged') throw new Error(`did not converge: ${result.status} after ${result.iterations} iterations`);
    if (!(residual <= tol)) throw new Error(`true relative residual ${residual} exceeds --tol ${tol}`);
  } finally {
    session.free();
  }
}

export function register(program: Command): void {
  program
    .command('solve')
    .description('solve A x = b from Matrix Market files with the WASM kernels (no Kafka)')
    .requiredOption('--matrix <file>', 'A, a square Matrix Market coordinate (or array) file')
    .option('--rhs <file>', 'b, a Matrix Market n×1 vector (default: b = A·1)')
    .option('--method <m>', `one of ${METHODS.join(', ')}`, 'hybrid')
    .option('--precond <p>', `for cg/bicgstab: ${PRECONDITIONERS.join(', ')}`, 'jacobi')
    .option('--tol <t>', 'relative tolerance on ||b - Ax|| / ||b||', '1e-8')
    .option('--max-iters <k>', 'iteration limit', '100000')
    .option('--out <file>', 'write x as a Matrix Market vector')
    .option('--json', 'print one JSON object instead of text')
    .option('--backend <b>', 'wasm, or reference (plain TypeScript)', 'wasm')
    .action((flags: SolveFlags) => {
      runSolve(flags, (line) => process.stdout.write(`${line}\n`));
    });
}
