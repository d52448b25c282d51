// Why a kernel refused its input, as a code a caller can act on: a solver maps it to the reason
// it rejects a session with; the detail names the row, value or size.

export const KERNEL_ERROR_CODES = [
  /** A and the kernel's vectors do not fit in one instance's linear memory. */
  'MATRIX_TOO_LARGE',
  /** Not canonical CSR (row pointers, column order or range), a non-finite value, or no diagonal where the method divides by it. */
  'MATRIX_INVALID',
  /** A vector of the wrong length or with a non-finite entry, an index out of range, an unknown or out-of-range option. */
  'BAD_ARGUMENT',
] as const;
export type KernelErrorCode = (typeof KERNEL_ERROR_CODES)[number];

export class KernelError extends Error {
  override readonly name = 'KernelError';

  constructor(
    readonly code: KernelErrorCode,
    readonly detail: string,
    /** For MATRIX_TOO_LARGE: bytes the kernel may hold, and bytes this matrix needs. */
    readonly size?: { readonly limit: number; readonly actual: number },
  ) {
    super(detail);
  }
}
