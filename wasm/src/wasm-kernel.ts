// Kernel backed by one WASM instance (one session per instance: see README in wasm/).
import { KernelError } from './errors';
import { instantiateKernel, newKernelMemory, type KernelExports, type WasmGlobal, type WasmMemory } from './loader';
import type { AmgLevelInfo, Kernel } from './kernel';

// Slots of a level in the kernel's AMG table (wasm/assembly/amg.ts).
const AMG = { N: 0, NNZ: 1, RP: 2, CI: 3, VA: 4, NC: 12, AGG: 11, PP: 13, PC: 14, PV: 15 } as const;
import type { Csr } from './types';

/** Linear memory is 32-bit; keep well clear of 4 GiB so the lazily added arrays still fit. */
const MAX_BYTES = 3.5 * 2 ** 30;

export function kernelBytes(n: number, nnz: number): number {
  // rowPtr + colIdx + values + diagPos + 15 vectors, plus ILU(0) factors in split rows (at most
  // nnz values and column indices, two row-pointer arrays, n reciprocal pivots).
  return (n + 1) * 4 + nnz * 12 + n * 4 + 15 * n * 8 + nnz * 12 + (n + 1) * 8 + n * 8;
}

export interface WasmKernelOptions {
  /** Bytes of linear memory a matrix may take (kernelBytes); default and ceiling 3.5 GiB. */
  readonly maxBytes?: number;
}

/**
 * One idle linear memory, kept by free() for the next session: a fresh page costs a fault on first
 * touch, and on this 2-core shared machine a session's first touches were most of a small solve
 * (n=1e4: 437 faults, open 3.7 ms CPU) and 3× the compute of an AMG setup. The next session zeroes
 * what the last one used (its heap end; cheap on touched pages) and instantiates on it. Only one,
 * and none over POOL_MAX_BYTES: idle memory is held until the next session or releaseIdleMemory().
 */
const POOL_MAX_BYTES = 512 * 2 ** 20;
let idle: { memory: WasmMemory; used: number } | undefined;

function pooledMemory(): WasmMemory {
  const m = idle;
  if (m === undefined) return newKernelMemory();
  idle = undefined;
  new Uint8Array(m.memory.buffer, 0, m.used).fill(0);
  return m.memory;
}

/** Drops the idle memory kept for the next session (a service going quiet). */
export function releaseIdleMemory(): void { idle = undefined; }

/** Linear memory ran out: the matrix, its factors or a staged update do not fit beside each other. */
const memoryFull = (detail: string) => new KernelError('MATRIX_TOO_LARGE', detail);

export class WasmKernel implements Kernel {
  private ex: KernelExports | undefined;
  private f64 = new Float64Array(0);
  private i32 = new Int32Array(0);

  constructor(readonly n: number, private readonly nnz: number, o: WasmKernelOptions = {}) {
    const need = kernelBytes(n, nnz);
    const limit = Math.min(o.maxBytes ?? MAX_BYTES, MAX_BYTES);
    if (need > limit) {
      throw new KernelError('MATRIX_TOO_LARGE', `matrix too large for one WASM instance: n=${n}, nnz=${nnz} needs ${(need / 2 ** 20).toFixed(0)} MiB, limit ${(limit / 2 ** 20).toFixed(0)} MiB`, { limit, actual: need });
    }
    const ex = instantiateKernel(pooledMemory());
    const code = ex.init(n, nnz);
    if (code !== 0) throw memoryFull(`WASM memory could not grow to hold n=${n}, nnz=${nnz}`);
    this.ex = ex;
  }

  private get k(): KernelExports {
    if (this.ex === undefined) throw new Error('solver session already freed');
    return this.ex;
  }

  /** Typed views over linear memory, rebuilt whenever memory has grown (the buffer detaches). */
  private views(): { f64: Float64Array; i32: Int32Array } {
    const buf = this.k.memory.buffer;
    if (this.f64.buffer !== buf) {
      this.f64 = new Float64Array(buf);
      this.i32 = new Int32Array(buf);
    }
    return { f64: this.f64, i32: this.i32 };
  }

  private ptr(g: WasmGlobal): number {
    return g.value as number;
  }

  private stage(bytes: number): number {
    const p = this.k.stagePtr(bytes);
    if (p === 0) throw memoryFull(`WASM memory could not grow by ${bytes} bytes`);
    return p;
  }

  load(csr: Csr): number {
    const { f64, i32 } = this.views();
    i32.set(csr.rowPtr, this.ptr(this.k.rp) >> 2);
    i32.set(csr.colIdx, this.ptr(this.k.ci) >> 2);
    f64.set(csr.values, this.ptr(this.k.va) >> 3);
    return this.k.prepare();
  }

  badRow(): number { return this.k.badRow(); }
  zeroDiagonalRows(): number { return this.k.zeroDiagonalRows(); }
  maxRowNnz(): number { return this.k.maxRowNnz(); }

  setB(b: ArrayLike<number>): void {
    this.views().f64.set(b, this.ptr(this.k.b) >> 3);
    this.k.invalidate();
  }

  setX(x: ArrayLike<number>): void {
    this.views().f64.set(x, this.k.xPtr() >> 3);
    this.k.xWritten();
  }

  readX(): Float64Array {
    const at = this.k.xPtr() >> 3;
    return this.views().f64.slice(at, at + this.n);
  }

  readB(): Float64Array {
    const at = this.ptr(this.k.b) >> 3;
    return this.views().f64.slice(at, at + this.n);
  }

  updateB(indices: Int32Array, values: Float64Array): void {
    const count = indices.length;
    const base = this.stage(count * 12 + 8);
    const valAt = (base + count * 4 + 7) & ~7;
    const { f64, i32 } = this.views();
    i32.set(indices, base >> 2);
    f64.set(values, valAt >> 3);
    this.k.updateB(count, base, valAt);
  }

  updateA(rows: Int32Array, cols: Int32Array, olds: Float64Array, news: Float64Array): { codes: Int32Array; current: Float64Array } {
    const count = rows.length;
    const ints = count * 4;
    const base = this.stage(3 * ints + 3 * count * 8 + 16);
    const colsAt = base + ints;
    const codesAt = colsAt + ints;
    const oldsAt = (codesAt + ints + 7) & ~7;
    const newsAt = oldsAt + count * 8;
    const curAt = newsAt + count * 8;
    let { f64, i32 } = this.views();
    i32.set(rows, base >> 2);
    i32.set(cols, colsAt >> 2);
    f64.set(olds, oldsAt >> 3);
    f64.set(news, newsAt >> 3);
    this.k.updateA(count, base, colsAt, oldsAt, newsAt, codesAt, curAt);
    ({ f64, i32 } = this.views());
    return {
      codes: i32.slice(codesAt >> 2, (codesAt >> 2) + count),
      current: f64.slice(curAt >> 3, (curAt >> 3) + count),
    };
  }

  start(method: number, precond: number, omega: number): number {
    const code = this.k.start(method, precond, omega);
    if (code === -1) throw memoryFull('WASM memory could not grow to hold the preconditioner (ILU(0) factors or AMG hierarchy)');
    return code;
  }

  iterate(maxIters: number, tol: number, stagnationWindow: number): number {
    return this.k.iterate(maxIters, tol, stagnationWindow);
  }

  iterations(): number { return this.k.iterations(); }
  residualNorm(): number { return this.k.residualNorm(); }
  trueResidual(): number { return this.k.trueResidual(); }

  residualRows(rows: Int32Array): { residuals: Float64Array; maxAbs: number } {
    const count = rows.length;
    const base = this.stage(count * 12 + 8);
    const outAt = (base + count * 4 + 7) & ~7;
    this.views().i32.set(rows, base >> 2);
    const maxAbs = this.k.residualRowsAt(count, base, outAt);
    const f64 = this.views().f64;
    return { residuals: f64.slice(outAt >> 3, (outAt >> 3) + count), maxAbs };
  }

  analyze(symTol: number): { flags: number; rho: number } {
    const flags = this.k.analyze(symTol);
    return { flags, rho: this.k.analysisRho() };
  }

  estimatePush(i: number, eps: number, maxPushes: number): { value: number; bound: number; work: number } {
    const value = this.k.estimatePush(i, eps, maxPushes);
    const work = this.k.estimateWork();
    if (work < 0) throw memoryFull('WASM memory could not grow for the push estimate');
    return { value, bound: this.k.estimateBound(), work };
  }

  estimateWalk(i: number, eps: number, walks: number, seed: number, delta: number): { value: number; bound: number; work: number } {
    const value = this.k.estimateWalk(i, eps, walks, seed | 0, delta);
    return { value, bound: this.k.estimateBound(), work: this.k.estimateWork() };
  }

  backupX(): void { this.k.backupX(); }

  applyPreconditioner(src: Float64Array): Float64Array {
    const base = this.stage(this.n * 16 + 16);
    const srcAt = (base + 7) & ~7, dstAt = srcAt + this.n * 8;
    this.views().f64.set(src, srcAt >> 3);
    this.k.precondApply(srcAt, dstAt);
    return this.views().f64.slice(dstAt >> 3, (dstAt >> 3) + this.n);
  }

  amgReset(): void { this.k.amgReset(); }
  amgSetups(): { full: number; rebuild: number } { return { full: this.k.amgFullSetups(), rebuild: this.k.amgValueRebuilds() }; }

  amgHierarchy(): AmgLevelInfo[] {
    const k = this.k;
    const { f64, i32 } = this.views();
    const ints = (at: number, len: number) => i32.slice(at >> 2, (at >> 2) + len);
    const out: AmgLevelInfo[] = [];
    for (let l = 0; l < k.amgLevels(); l++) {
      const n = k.amgField(l, AMG.N), nnz = k.amgField(l, AMG.NNZ);
      const a = { rowPtr: ints(k.amgField(l, AMG.RP), n + 1), colIdx: ints(k.amgField(l, AMG.CI), nnz), values: f64.slice(k.amgField(l, AMG.VA) >> 3, (k.amgField(l, AMG.VA) >> 3) + nnz) };
      const aggAt = k.amgField(l, AMG.AGG) >>> 0;
      if (aggAt === 0) { out.push({ n, a }); continue; }
      const pRow = ints(k.amgField(l, AMG.PP), n + 1);
      const pn = pRow[n]!;
      // P's values are single precision in the kernel (amg.ts).
      const pv = k.amgField(l, AMG.PV) >> 2;
      const f32 = new Float32Array(f64.buffer);
      out.push({ n, a, agg: ints(aggAt, n), nc: k.amgField(l, AMG.NC), p: { rowPtr: pRow, colIdx: ints(k.amgField(l, AMG.PC), pn), values: Float64Array.from(f32.subarray(pv, pv + pn)) } });
    }
    return out;
  }
  restoreX(): void { this.k.restoreX(); }

  /** Benchmark probes: SpMV repeated over x, and a streaming read of `bytes` bytes. */
  spmvRepeat(reps: number): number { return this.k.spmvRepeat(reps); }
  streamRead(bytes: number, reps: number): number {
    const p = this.k.scratchBuffer(bytes);
    if (p === 0) throw new Error(`WASM memory could not grow by ${bytes} bytes`);
    this.views().f64.fill(1, p >> 3, (p + bytes) >> 3);
    return this.k.streamRead(p, bytes, reps, 1);
  }
  /** Times only the streaming read (buffer reserved and filled once), optionally in `segments` parts read side by side. */
  streamReader(bytes: number): (reps: number, segments?: number) => number {
    const p = this.k.scratchBuffer(bytes);
    if (p === 0) throw new Error(`WASM memory could not grow by ${bytes} bytes`);
    this.views().f64.fill(1, p >> 3, (p + bytes) >> 3);
    return (reps, segments = 1) => this.k.streamRead(p, bytes, reps, segments);
  }

  free(): void {
    const ex = this.ex;
    if (ex !== undefined && ex.memory.buffer.byteLength <= POOL_MAX_BYTES && (idle === undefined || idle.memory.buffer.byteLength < ex.memory.buffer.byteLength)) {
      idle = { memory: ex.memory, used: ex.heapEnd() };
    }
    this.ex = undefined;
    this.f64 = new Float64Array(0);
    this.i32 = new Int32Array(0);
  }
}
