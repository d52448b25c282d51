// Kernel errors carry a code a caller can act on (a solver rejects a session with it) and the
// detail; misuse of a session (no method configured, used after free) stays a plain Error.
import { strict as assert } from 'node:assert';
import {
  KernelError, SolverSession, WasmKernel, checkMethodOptions, csrFromCoo, referenceKernel, wasmKernel, type KernelErrorCode, type KernelFactory,
} from '../../../wasm/index';
import { poisson2d } from '../../../wasm/src/problems';
import type { Csr } from '../../../wasm/src/types';
import { kernelBytes } from '../../../wasm/src/wasm-kernel';

function throwsCode(f: () => unknown, code: KernelErrorCode, detail: RegExp): KernelError {
  let caught: unknown;
  try { f(); } catch (err) { caught = err; }
  assert.ok(caught instanceof KernelError, `expected a KernelError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  assert.match(caught.detail, detail);
  assert.equal(caught.message, caught.detail);
  return caught;
}

const dense = (rows: number[][]): Csr => {
  const r: number[] = [], c: number[] = [], v: number[] = [];
  rows.forEach((row, i) => row.forEach((x, j) => { if (x !== 0) { r.push(i); c.push(j); v.push(x); } }));
  return csrFromCoo(rows.length, r, c, v);
};

describe('solver kernel errors: codes', () => {
  describe('MATRIX_TOO_LARGE', () => {
    it('given a matrix beyond 32-bit linear memory, when a WASM kernel is made for it, then the error carries the bytes needed and the limit', () => {
      const e = throwsCode(() => new WasmKernel(30_000_000, 150_000_000), 'MATRIX_TOO_LARGE', /matrix too large for one WASM instance: n=30000000/);
      assert.deepEqual(e.size, { limit: 3.5 * 2 ** 30, actual: kernelBytes(30_000_000, 150_000_000) });
    });

    it('given a factory with a 1 MiB memory budget, when it opens a 10,000-row matrix, then it refuses with MATRIX_TOO_LARGE', () => {
      const a = poisson2d(100);
      const e = throwsCode(() => wasmKernel({ maxBytes: 2 ** 20 })(a), 'MATRIX_TOO_LARGE', /n=10000, nnz=49600 needs 3 MiB, limit 1 MiB/);
      assert.deepEqual(e.size, { limit: 2 ** 20, actual: kernelBytes(a.n, a.values.length) });
      wasmKernel({ maxBytes: 2 ** 22 })(a).free(); // the same matrix fits a bigger budget
    });
  });

  for (const [name, factory] of [['wasm', wasmKernel()], ['reference', referenceKernel()]] as Array<[string, KernelFactory]>) {
    describe(`MATRIX_INVALID and BAD_ARGUMENT on the ${name} kernel`, () => {
      it('given a CSR with unsorted columns, a column out of range or a NaN, when opened, then MATRIX_INVALID names the row', () => {
        const bad = { n: 2, rowPtr: Int32Array.from([0, 2, 3]), colIdx: Int32Array.from([1, 0, 1]), values: Float64Array.from([1, 2, 3]) };
        throwsCode(() => factory(bad), 'MATRIX_INVALID', /invalid CSR at row 0: column index out of range, or columns not strictly increasing/);
        throwsCode(() => factory({ ...bad, colIdx: Int32Array.from([0, 1, 5]) }), 'MATRIX_INVALID', /invalid CSR at row 1/);
        throwsCode(() => factory({ ...bad, colIdx: Int32Array.from([0, 1, 1]), values: Float64Array.from([1, NaN, 3]) }), 'MATRIX_INVALID', /non-finite value/);
        throwsCode(() => factory({ ...bad, rowPtr: Int32Array.from([0, 3]) }), 'MATRIX_INVALID', /rowPtr has 2 entries, expected n \+ 1 = 3/);
      });

      it('given a zero on the diagonal, when a method that divides by it is required, then MATRIX_INVALID; hybrid and unpreconditioned CG are applicable', () => {
        const s = factory(dense([[0, 1], [1, 2]]));
        throwsCode(() => s.requireApplicable('jacobi', 'none'), 'MATRIX_INVALID', /1 row\(s\) have no nonzero diagonal entry, which jacobi divides by/);
        throwsCode(() => s.requireApplicable('gauss_seidel', 'jacobi'), 'MATRIX_INVALID', /gauss_seidel/);
        throwsCode(() => s.requireApplicable('cg', 'jacobi'), 'MATRIX_INVALID', /cg with the jacobi preconditioner/);
        s.requireApplicable('hybrid', 'jacobi');
        s.requireApplicable('cg', 'none');
        s.requireApplicable('bicgstab', 'ilu0');
        s.free();
        const full = factory(poisson2d(3));
        full.requireApplicable('jacobi', 'none');
        full.free();
      });

      it('given b of the wrong length or not finite, an index out of range, or a bad option, then BAD_ARGUMENT says what is expected', () => {
        const s = factory(poisson2d(3));
        throwsCode(() => s.setB([1, 2]), 'BAD_ARGUMENT', /b has 2 entries, matrix has 9 rows/);
        throwsCode(() => s.setB([1, 2, 3, 4, Infinity, 6, 7, 8, 9]), 'BAD_ARGUMENT', /b\[4\] is not finite/);
        // Float64Array input is searched by includes(), not looped over: NaN and both infinities found, index named.
        for (const bad of [NaN, Infinity, -Infinity]) {
          throwsCode(() => s.setB(Float64Array.from([1, 2, 3, 4, 5, 6, 7, bad, 9])), 'BAD_ARGUMENT', /b\[7\] is not finite/);
          throwsCode(() => s.setX(Float64Array.from([bad, 2, 3, 4, 5, 6, 7, 8, 9])), 'BAD_ARGUMENT', /x\[0\] is not finite/);
        }
        s.setB(Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]));
        throwsCode(() => s.updateB([9], [1]), 'BAD_ARGUMENT', /updateB: index 9 outside 0..8/);
        throwsCode(() => s.configure({ method: 'lu' as never, tol: 1e-8 }), 'BAD_ARGUMENT', /unknown method 'lu'/);
        throwsCode(() => s.configure({ method: 'cg', tol: 0 }), 'BAD_ARGUMENT', /tolerance must be a positive number/);
        throwsCode(() => s.configure({ method: 'cg', tol: 1e-8, precond: 'ssor', omega: 2 }), 'BAD_ARGUMENT', /SSOR omega must lie in \(0, 2\)/);
        s.free();
      });
    });
  }

  it('given options alone, when checked without a session, then the same BAD_ARGUMENT, and the defaults otherwise', () => {
    throwsCode(() => checkMethodOptions({ method: 'cg', tol: Number.NaN }), 'BAD_ARGUMENT', /tolerance must be a positive number/);
    assert.deepEqual(checkMethodOptions({ method: 'cg', tol: 1e-8 }), { method: 'cg', tol: 1e-8, precond: 'jacobi', omega: 1, relax: 1, stagnationWindow: 1000, amgReuse: true });
  });

  it('given a session used out of order or after free, then a plain Error (a caller bug, not a bad input)', () => {
    const s = SolverSession.open(poisson2d(3));
    assert.throws(() => s.iterate(5), (err: unknown) => !(err instanceof KernelError) && /configure\(\) a method before iterate\(\)/.test(String(err)));
    s.free();
    assert.throws(() => s.readX(), (err: unknown) => !(err instanceof KernelError) && /already freed/.test(String(err)));
  });
});
