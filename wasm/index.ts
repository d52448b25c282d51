// Solver kernels: WASM (wasm/assembly) behind a typed session API, with a plain TypeScript
// reference of every kernel (wasm/src/reference.ts).
export { SolverSession, checkMethodOptions, hybridPlan, type Backend, type KernelBuilder, type MethodOptions } from './src/session';
export { KernelError, KERNEL_ERROR_CODES, type KernelErrorCode } from './src/errors';
export { wasmKernel, referenceKernel, type KernelFactory } from './src/factory';
export { csrFromCoo, canonicalRows, multiply, relativeResidual } from './src/csr';
export { METHODS, BASE_METHODS, PRECONDITIONERS, STATUSES, isMethod, isPreconditioner, type Method, type BaseMethod, type Preconditioner, type Status } from './src/codes';
export type { Csr, IterateResult, EntryUpdate, EntryUpdateResult, Analysis, EntryEstimate } from './src/types';
export { WasmKernel, type WasmKernelOptions } from './src/wasm-kernel';
export { ReferenceKernel } from './src/reference';
