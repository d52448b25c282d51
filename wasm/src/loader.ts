// Compiles the kernel module once, lazily, in V8's optimising tier. Instances are cheap; the
// compiled code is shared by all of them.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { projectRoot } from '../../schemas/project-root';

// ES2022 lib + @types/node 20 carry no WebAssembly typings, so the few parts used are typed here.
export interface WasmMemory { readonly buffer: ArrayBuffer }
export interface WasmGlobal { readonly value: unknown }
type WasmModule = object;
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Memory: new (d: { initial: number; maximum: number }) => WasmMemory;
  Instance: new (module: WasmModule, imports: object) => { readonly exports: object };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const WASM_DIR = join(projectRoot(), 'wasm');
export const WASM_FILE = join(WASM_DIR, 'build', 'solver.wasm');

let compiled: WasmModule | undefined;

function stale(): boolean {
  if (!existsSync(WASM_FILE)) return true;
  const built = statSync(WASM_FILE).mtimeMs;
  const src = join(WASM_DIR, 'assembly');
  if (!existsSync(src)) return false; // shipped without sources: use what is there
  return readdirSync(src).some((f) => statSync(join(src, f)).mtimeMs > built);
}

function build(): void {
  try {
    execFileSync('bash', [join(WASM_DIR, 'build.sh')], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new Error(`WASM not built: run make wasm (automatic build failed: ${detail})`, { cause: err });
  }
  if (!existsSync(WASM_FILE)) throw new Error('WASM not built: run make wasm');
}

/**
 * Liftoff (the baseline tier) runs these loops ~2.5× slower, and tier-up only replaces a
 * function after it has run hot for a while, so a first solve would pay for it. With Liftoff
 * and lazy compilation off, V8 compiles every function with TurboFan up front (tens of ms for
 * this module). The flags are process-wide and left set: re-enabling Liftoff would let any
 * lazily compiled function come back in the baseline tier.
 */
function compileOptimised(bytes: Uint8Array): WasmModule {
  setFlagsFromString('--no-liftoff');
  setFlagsFromString('--no-wasm-lazy-compilation');
  return new WA.Module(bytes);
}

export function kernelModule(): WasmModule {
  if (compiled === undefined) {
    if (stale()) build();
    compiled = compileOptimised(readFileSync(WASM_FILE));
  }
  return compiled;
}

export interface KernelExports {
  readonly memory: WasmMemory;
  readonly rp: WasmGlobal;
  readonly ci: WasmGlobal;
  readonly va: WasmGlobal;
  readonly b: WasmGlobal;
  init(n: number, nnz: number): number;
  stagePtr(bytes: number): number;
  xPtr(): number;
  badRow(): number;
  prepare(): number;
  zeroDiagonalRows(): number;
  maxRowNnz(): number;
  invalidate(): void;
  xWritten(): void;
  analysisRho(): number;
  analyze(symTol: number): number;
  updateB(count: number, idx: number, vals: number): void;
  updateA(count: number, rows: number, cols: number, olds: number, news: number, codes: number, cur: number): number;
  backupX(): void;
  restoreX(): void;
  residualRowsAt(count: number, rows: number, out: number): number;
  trueResidual(): number;
  iterations(): number;
  residualNorm(): number;
  start(m: number, pc: number, omega: number): number;
  iterate(maxIters: number, tol: number, stagWindow: number): number;
  estimatePush(i: number, eps: number, maxPushes: number): number;
  estimateWalk(i: number, eps: number, walks: number, seed: number, delta: number): number;
  estimateBound(): number;
  estimateWork(): number;
  spmvRepeat(reps: number): number;
  streamRead(ptr: number, bytes: number, reps: number, segments: number): number;
  scratchBuffer(bytes: number): number;
  precondApply(src: number, dst: number): void;
  amgReset(): void;
  amgFullSetups(): number;
  amgValueRebuilds(): number;
  amgLevels(): number;
  amgField(level: number, field: number): number;
  heapEnd(): number;
}

/** AssemblyScript strings: UTF-16LE, byte length in the 4 bytes before the pointer. */
function readAsString(memory: WasmMemory, ptr: number): string {
  if (ptr === 0) return '';
  const bytes = new Uint32Array(memory.buffer, ptr - 4, 1)[0] ?? 0;
  return Buffer.from(memory.buffer, ptr, bytes).toString('utf16le');
}

/** The kernel's linear memory (imported: asconfig importMemory); the module declares at most 65536 pages. */
export const newKernelMemory = (): WasmMemory => new WA.Memory({ initial: 1, maximum: 65536 });

/** An instance on `memory` (zeroed: the kernel relies on fresh memory reading as zeros). */
export function instantiateKernel(memory: WasmMemory = newKernelMemory()): KernelExports {
  const imports = {
    env: {
      memory,
      abort(msg: number, file: number, line: number, col: number): never {
        throw new Error(`solver kernel aborted: ${readAsString(memory, msg)} (${readAsString(memory, file)}:${line}:${col})`);
      },
    },
  };
  // The module exports the memory it imports, so exports.memory is `memory`.
  return new WA.Instance(kernelModule(), imports).exports as unknown as KernelExports;
}
