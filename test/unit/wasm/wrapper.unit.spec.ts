// The typed wrapper: clear errors for inputs that do not fit, memory growth, abort, free.
import { strict as assert } from 'node:assert';
import { SolverSession, WasmKernel, csrFromCoo } from '../../../wasm/index';
import { instantiateKernel } from '../../../wasm/src/loader';
import { poisson2d, smoothRhs } from '../../../wasm/src/problems';

describe('solver WASM wrapper', () => {
  it('given an unsorted or out-of-range CSR, when opened, then the error names the row and the problem', () => {
    const bad = { n: 2, rowPtr: Int32Array.from([0, 2, 3]), colIdx: Int32Array.from([1, 0, 1]), values: Float64Array.from([1, 2, 3]) };
    assert.throws(() => SolverSession.open(bad), /invalid CSR at row 0: column index out of range, or columns not strictly increasing/);
    const outOfRange = { ...bad, colIdx: Int32Array.from([0, 1, 5]) };
    assert.throws(() => SolverSession.open(outOfRange), /row 1/);
    const nan = { ...bad, colIdx: Int32Array.from([0, 1, 1]), values: Float64Array.from([1, NaN, 3]) };
    assert.throws(() => SolverSession.open(nan), /non-finite value/);
  });

  it('given the bench\'s bandwidth floor, when the bytes are read in 1 to 32 parts side by side, then every byte is read once per repetition', () => {
    const k = new WasmKernel(10, 30);
    // 8 KiB + 200 bytes of 1.0: the splits leave a rest under segments * 64 bytes to read after.
    const bytes = 8192 + 200;
    const read = k.streamReader(bytes);
    const whole = Math.floor(bytes / 64) * 8; // doubles in whole 64-byte blocks
    for (const segments of [1, 2, 4, 8, 16, 32]) assert.equal(read(3, segments), 3 * whole, `${segments} part(s)`);
    k.free();
  });

  it('given a matrix beyond 32-bit linear memory, when opened, then it is refused with its size', () => {
    assert.throws(() => new WasmKernel(30_000_000, 150_000_000), /matrix too large for one WASM instance: n=30000000/);
  });

  it('given b of the wrong length or a bad option, when used, then the error says what is expected', () => {
    const s = SolverSession.open(poisson2d(3));
    assert.throws(() => s.setB([1, 2]), /b has 2 entries, matrix has 9 rows/);
    assert.throws(() => s.configure({ method: 'lu' as never, tol: 1e-8 }), /unknown method 'lu'/);
    assert.throws(() => s.configure({ method: 'cg', tol: 0 }), /tolerance must be a positive number/);
    assert.throws(() => s.iterate(5), /configure\(\) a method before iterate\(\)/);
    s.free();
    assert.throws(() => s.readX(), /already freed/);
  });

  it('given memory growth during a session, when x is read afterwards, then the views are rebuilt and correct', () => {
    const a = poisson2d(30);
    const s = SolverSession.open(a);
    s.setB(smoothRhs(a.n));
    s.configure({ method: 'cg', precond: 'ilu0', tol: 1e-9 }); // ILU factors grow memory lazily
    s.estimateEntry(3, { eps: 1e-3 }); // so does the push workspace
    s.updateB(Array.from({ length: 5000 }, (_, i) => i % a.n), new Array<number>(5000).fill(1)); // and a big stage
    assert.equal(s.iterate(1000).status, 'converged');
    assert.ok(s.trueResidual() <= 1e-9);
    assert.ok(s.readX().every(Number.isFinite));
  });

  it('given a kernel called before init, when it aborts, then the abort surfaces as a thrown error', () => {
    const k = instantiateKernel();
    assert.throws(() => k.prepare(), /solver kernel aborted: solver kernel used before init/);
  });

  it('given COO input with duplicates and unsorted columns, when built, then duplicates are summed and rows sorted', () => {
    const a = csrFromCoo(2, [1, 0, 0, 1], [0, 1, 0, 0], [2, 3, 4, 5]);
    assert.deepEqual([...a.rowPtr], [0, 2, 3]);
    assert.deepEqual([...a.colIdx], [0, 1, 0]);
    assert.deepEqual([...a.values], [4, 3, 7]);
  });
});
