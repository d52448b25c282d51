// Matrix Market reading/writing and the `solve` command on files.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSolve } from '../../../services/cli/commands/solve';
import { matrixMarketToCsr, matrixMarketToVector, parseMatrixMarket, writeMatrixMarketCsr, writeMatrixMarketVector } from '../../../services/solver/matrix-market';
import { convectionDiffusion2d, smoothRhs } from '../../../wasm/src/problems';
import { bitIdentical } from './helpers';

describe('Matrix Market', () => {
  it('given a symmetric coordinate file, when read, then the lower triangle is mirrored into canonical CSR', () => {
    const a = matrixMarketToCsr(parseMatrixMarket('%%MatrixMarket matrix coordinate real symmetric\n% c\n2 2 3\n1 1 4\n2 1 -1\n2 2 4\n'));
    assert.deepEqual([...a.rowPtr], [0, 2, 4]);
    assert.deepEqual([...a.colIdx], [0, 1, 0, 1]);
    assert.deepEqual([...a.values], [4, -1, -1, 4]);
  });

  it('given a matrix and a vector, when written and read back, then they are bit-identical', () => {
    const a = convectionDiffusion2d(5);
    const back = matrixMarketToCsr(parseMatrixMarket(writeMatrixMarketCsr(a)));
    assert.deepEqual(back, a);
    const x = Float64Array.from({ length: 9 }, (_, i) => Math.PI ** i / 7);
    assert.ok(bitIdentical(matrixMarketToVector(parseMatrixMarket(writeMatrixMarketVector(x))), x));
  });

  it('given malformed files, when read, then the error names the line and the problem', () => {
    assert.throws(() => parseMatrixMarket('%%MatrixMarket matrix hb real general\n'), /line 1: unsupported format 'hb'/);
    assert.throws(() => parseMatrixMarket('%%MatrixMarket matrix coordinate real general\n2 2 1\n3 1 1\n'), /line 3: row 3 outside 1\.\.2/);
    assert.throws(() => parseMatrixMarket('%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n'), /line 2: size line declares 2 entries, the file holds 1/);
    assert.throws(() => parseMatrixMarket('%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 x\n'), /value 'x' is not a finite number/);
  });
});

describe('Matrix Market edge cases (hostile files)', () => {
  const coo = (sym: string, size: string, ...entries: string[]) => `%%MatrixMarket matrix coordinate real ${sym}\n% made by hand\n${size}\n${entries.join('\n')}\n`;

  it('given more entries than the size line declares, when read, then the error names the first extra line', () => {
    assert.throws(() => parseMatrixMarket(coo('general', '2 2 1', '1 1 1', '2 2 1')), /line 5: more entries than the 1 the size line declares/);
  });

  it('given an upper-triangle entry in symmetric storage, when read, then the error names its line instead of mirroring it twice', () => {
    assert.throws(() => parseMatrixMarket(coo('symmetric', '2 2 2', '1 1 4', '1 2 -1')), /line 5: entry \(1, 2\) is above the diagonal/);
    assert.throws(() => parseMatrixMarket(coo('skew-symmetric', '2 2 1', '1 1 4')), /line 4: entry \(1, 1\) is on or above the diagonal/);
  });

  it('given a header that claims a billion entries or a 1e12-row matrix, when read, then it fails on the size line without allocating the claim', () => {
    const before = process.memoryUsage().arrayBuffers;
    assert.throws(() => parseMatrixMarket(coo('general', '1000000 1000000 1000000000', '1 1 1')), /line 3: size line declares 1000000000 entries, the file holds 1/);
    assert.throws(() => parseMatrixMarket(coo('general', '1000000000000 1 1', '1 1 1')), /line 3: rows 1000000000000 is above the largest supported/);
    assert.throws(() => parseMatrixMarket('%%MatrixMarket matrix array real general\n100000 100000\n1\n'), /line 2: size line declares 100000×100000 = 10000000000 values, the file holds 1/);
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024, 'no buffer the size of the claim');
  });

  it('given extra values in array storage, when read, then the error names the first extra line', () => {
    assert.throws(() => parseMatrixMarket('%%MatrixMarket matrix array real general\n2 1\n1\n2\n3\n'), /line 5: more values than the 2 the size line declares/);
  });

  it('given trailing comments and blank lines after the data, when read, then they are not taken for extra entries', () => {
    const m = parseMatrixMarket(coo('general', '1 1 1', '1 1 5', '% end', ''));
    assert.equal(m.format === 'coordinate' ? m.v[0] : NaN, 5);
  });
});

describe('solvermesh solve', () => {
  const dir = mkdtempSync(join(tmpdir(), 'solvermesh-solve-'));
  const a = convectionDiffusion2d(20);
  writeFileSync(join(dir, 'A.mtx'), writeMatrixMarketCsr(a));
  writeFileSync(join(dir, 'b.mtx'), writeMatrixMarketVector(smoothRhs(a.n)));
  const flags = { matrix: join(dir, 'A.mtx'), rhs: join(dir, 'b.mtx'), method: 'hybrid', precond: 'jacobi', tol: '1e-9', maxIters: '10000', backend: 'wasm' };

  it('given A and b files, when solved with --json --out, then it reports the true residual and writes x', () => {
    const lines: string[] = [];
    runSolve({ ...flags, json: true, out: join(dir, 'x.mtx') }, (l) => lines.push(l));
    const report = JSON.parse(lines[0]!) as { status: string; trueRelativeResidual: number; iterations: number };
    assert.equal(report.status, 'converged');
    assert.ok(report.trueRelativeResidual <= 1e-9);
    assert.equal(matrixMarketToVector(parseMatrixMarket(readFileSync(join(dir, 'x.mtx'), 'utf8'))).length, a.n);
  });

  it('given bad flags or a method that cannot converge, when run, then it throws a clear message', () => {
    assert.throws(() => runSolve({ ...flags, method: 'lu' }, () => {}), /--method must be one of/);
    assert.throws(() => runSolve({ ...flags, tol: '-1' }, () => {}), /--tol must be a positive number/);
    assert.throws(() => runSolve({ ...flags, rhs: join(dir, 'missing.mtx') }, () => {}), /cannot read rhs/);
    assert.throws(() => runSolve({ ...flags, method: 'cg', maxIters: '3' }, () => {}), /did not converge: running after 3 iterations/);
  });
});
