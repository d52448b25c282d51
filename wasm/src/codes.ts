// Numeric codes shared with the kernel (wasm/assembly/index.ts) and the plain reference.

export const STATUSES = ['running', 'converged', 'breakdown', 'stagnated', 'diverged', 'not_applicable', 'not_started'] as const;
export type Status = (typeof STATUSES)[number];

export const BASE_METHODS = ['jacobi', 'gauss_seidel', 'cg', 'bicgstab', 'neumann'] as const;
export type BaseMethod = (typeof BASE_METHODS)[number];
export const METHODS = [...BASE_METHODS, 'hybrid'] as const;
export type Method = (typeof METHODS)[number];

export const PRECONDITIONERS = ['none', 'jacobi', 'ilu0', 'ssor', 'milu0', 'amg'] as const;
export type Preconditioner = (typeof PRECONDITIONERS)[number];

export const STATUS_CODE = { running: 0, converged: 1, breakdown: 2, stagnated: 3, diverged: 4, not_applicable: 5, not_started: 6 } as const;

export function statusOf(code: number): Status {
  const s = STATUSES[code];
  if (s === undefined) throw new Error(`solver kernel returned unknown status ${code}`);
  return s;
}

export function methodCode(m: BaseMethod): number {
  return BASE_METHODS.indexOf(m);
}

export function precondCode(p: Preconditioner): number {
  return PRECONDITIONERS.indexOf(p);
}

export function isMethod(s: string): s is Method {
  return (METHODS as readonly string[]).includes(s);
}

export function isPreconditioner(s: string): s is Preconditioner {
  return (PRECONDITIONERS as readonly string[]).includes(s);
}

/** updateA per-entry outcome codes. */
export const UPDATE_OUTCOMES = ['applied', 'old_value_mismatch', 'not_in_pattern'] as const;
export type UpdateOutcome = (typeof UPDATE_OUTCOMES)[number];

/** CSR validation codes from `prepare`. */
export const CSR_ERRORS: Record<number, string> = {
  [-1]: 'rowPtr must start at 0, end at nnz and never decrease',
  [-2]: 'column index out of range, or columns not strictly increasing within the row (sort rows; sum duplicates)',
  [-3]: 'non-finite value',
};
