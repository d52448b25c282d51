// The kernel as a value: whoever wires a service (or a spec) picks the backend once and hands
// the factory down, so the code that opens sessions never names one.
import { SolverSession } from './session';
import type { Csr } from './types';
import { WasmKernel, type WasmKernelOptions } from './wasm-kernel';

/** A session holding A (canonical CSR), b = x = 0; throws KernelError when it cannot hold A. */
export type KernelFactory = (a: Csr) => SolverSession;

export const wasmKernel = (o: WasmKernelOptions = {}): KernelFactory =>
  (a) => SolverSession.open(a, (n, nnz) => new WasmKernel(n, nnz, o));

/** The plain TypeScript kernels: bit for bit the WASM results, slower. */
export const referenceKernel = (): KernelFactory =>
  (a) => SolverSession.open(a, 'reference');
