// Solver kernels: WASM (wasm/assembly) behind a typed session API, with a plain TypeScript
// reference of every kernel (wasm/src/reference.ts).
export { SolverSession, hybridPlan, type Backend, type MethodOptions } from './src/session';
export { csrFromCoo, canonicalRows, multiply, relativeResidual } from './src/csr';
export { METHODS, BASE_METHODS, PRECONDITIONERS, STATUSES, isMethod, isPreconditioner, type Method, type BaseMethod, type Preconditioner, type Status } from './src/codes';
export type { Csr, IterateResult, EntryUpdate, EntryUpdateResult, Analysis, EntryEstimate } from './src/types';
export { WasmKernel } from './src/wasm-kernel';
export { ReferenceKernel } from './src/reference';
