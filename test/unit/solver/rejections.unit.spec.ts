// A session the kernel cannot take is rejected with the kernel's reason, not a catch-all; the
// kernel is a value the core is given, so the plain TypeScript one can stand in for WASM.
import assert from 'node:assert/strict';
import type { SessionOpened, SessionRejected } from '../../../schemas/generated/events';
import { DEFAULT_SOLVER_LIMITS, PartitionCore, type Output } from '../../../services/solver/domain';
import { costStream, openSession } from '../../../services/solver/events';
import { csrFromCoo, referenceKernel, wasmKernel, type KernelFactory } from '../../../wasm';
import { poisson2d, smoothRhs } from '../../../wasm/src/problems';
import { kernelBytes } from '../../../wasm/src/wasm-kernel';
import { active, comparable, refOf, run, toLog } from './harness';

const SID = '6f1c1d1e-0000-4000-8000-0000000000a1';

/** Folds the session's opening records; returns the outputs and the core. */
function open(events: ReturnType<typeof openSession>, kernel: KernelFactory = wasmKernel()): { core: PartitionCore; outs: Output[] } {
  const core = new PartitionCore(0, DEFAULT_SOLVER_LIMITS, kernel);
  const outs = toLog(events).flatMap((l) => { core.check(l.event); return core.fold(l.event, refOf(l)); });
  return { core, outs };
}

const rejection = (outs: Output[]): SessionRejected => {
  const r = outs.find((o) => o.event.type === 'SessionRejected');
  assert.ok(r, `a SessionRejected among ${outs.map((o) => o.event.type).join(', ') || 'no outputs'}`);
  return r.event as SessionRejected;
};

describe('solver sessions rejected with the kernel\'s reason', () => {
  it('given a matrix beyond the kernel\'s memory (MATRIX_TOO_LARGE), then TOO_LARGE with the bytes as limit and actual, and its later records are refused', () => {
    const a = poisson2d(100);
    const events = openSession(SID, a, smoothRhs(a.n));
    const { core, outs } = open(events.slice(0, 2), wasmKernel({ maxBytes: 2 ** 20 }));
    const r = rejection(outs);
    assert.deepEqual({ reason: r.reason, limit: r.limit, actual: r.actual }, { reason: 'TOO_LARGE', limit: 2 ** 20, actual: kernelBytes(a.n, a.values.length) });
    assert.match(r.message, /matrix too large for one WASM instance/);
    assert.equal(core.sessions.get(SID)?.status, 'rejected');
    assert.throws(() => core.check(costStream(SID, a.n, 1, 1)[0]!), /was rejected/);
  });

  it('given a column index outside the matrix (MATRIX_INVALID), then INVALID_MATRIX naming the row', () => {
    const a = { n: 3, rowPtr: Int32Array.from([0, 1, 2, 3]), colIdx: Int32Array.from([0, 1, 5]), values: Float64Array.from([2, 2, 2]) };
    const r = rejection(open(openSession(SID, a, [1, 1, 1])).outs);
    assert.equal(r.reason, 'INVALID_MATRIX');
    assert.match(r.message, /invalid CSR at row 2: column index out of range/);
    assert.deepEqual([r.limit, r.actual], [null, null]);
  });

  it('given a zero on the diagonal and Jacobi asked for (MATRIX_INVALID), then INVALID_MATRIX; asked for hybrid, the same matrix solves', () => {
    const a = csrFromCoo(2, [0, 1, 1], [1, 0, 1], [1, 1, 2]);
    const r = rejection(open(openSession(SID, a, [1, 2], { method: 'JACOBI' })).outs);
    assert.equal(r.reason, 'INVALID_MATRIX');
    assert.match(r.message, /1 row\(s\) have no nonzero diagonal entry, which jacobi divides by/);
    const { outputs, core } = run(toLog(openSession(SID, a, [1, 2], { method: 'HYBRID' })), { batch: 3, sliceWork: 1000 });
    assert.deepEqual(outputs.filter((o) => o.event.type === 'SessionRejected'), []);
    const last = outputs.filter((o) => o.event.type === 'IterationCompleted').at(-1)?.event as { residual_norm: number } | undefined;
    assert.ok(last && last.residual_norm <= 1e-8, `solved: ${JSON.stringify(last)}`);
    assert.ok(active(core, SID).kernel.trueResidual() <= 1e-8);
  });

  it('given options the kernel refuses (BAD_ARGUMENT), then UNSUPPORTED_METHOD at SessionOpened, before any chunk', () => {
    const a = poisson2d(4);
    const [opened] = openSession(SID, a, smoothRhs(a.n));
    const bad = { ...(opened as SessionOpened), options: { ...(opened as SessionOpened).options, tolerance: 0 } };
    const r = rejection(open([bad]).outs);
    assert.equal(r.reason, 'UNSUPPORTED_METHOD');
    assert.match(r.message, /options: tolerance must be a positive number \(got 0\)/);
  });

  it('given the plain TypeScript reference kernel passed in, then every output is the WASM kernel\'s bit for bit', () => {
    const a = poisson2d(12);
    const log = toLog([...openSession(SID, a, smoothRhs(a.n), { method: 'HYBRID', verificationInterval: 7 }), ...costStream(SID, a.n, 60, 4)]);
    const wasm = run(log, { batch: 5, sliceWork: 200_000 });
    const reference = run(log, { batch: 5, sliceWork: 200_000, core: new PartitionCore(0, DEFAULT_SOLVER_LIMITS, referenceKernel()) });
    assert.ok(wasm.outputs.filter((o) => o.event.type === 'IterationCompleted').length > 10);
    assert.deepStrictEqual(comparable(reference.outputs), comparable(wasm.outputs));
  });
});
