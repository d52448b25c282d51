// Building canonical CSR (sorted columns, duplicates summed) from coordinate triples.
import type { Csr } from './types';

export function csrFromCoo(n: number, rows: ArrayLike<number>, cols: ArrayLike<number>, vals: ArrayLike<number>): Csr {
  const m = rows.length;
  if (cols.length !== m || vals.length !== m) throw new Error(`COO arrays differ in length: ${m} rows, ${cols.length} cols, ${vals.length} values`);
  const count = new Int32Array(n + 1);
  for (let k = 0; k < m; k++) {
    const i = rows[k]!, j = cols[k]!;
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new Error(`entry ${k}: row ${i} outside 0..${n - 1}`);
    if (!Number.isInteger(j) || j < 0 || j >= n) throw new Error(`entry ${k}: column ${j} outside 0..${n - 1}`);
    count[i + 1]!++;
  }
  for (let i = 0; i < n; i++) count[i + 1] = count[i + 1]! + count[i]!;
  const fill = count.slice(0, n);
  const ci = new Int32Array(m);
  const va = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const at = fill[rows[k]!]!++;
    ci[at] = cols[k]!;
    va[at] = vals[k]!;
  }
  return canonicalRows({ n, rowPtr: count, colIdx: ci, values: va });
}

/** Sorts each row by column and sums duplicates (Matrix Market and COO convention). */
export function canonicalRows(a: Csr): Csr {
  const rowPtr = new Int32Array(a.n + 1);
  const colIdx = new Int32Array(a.colIdx.length);
  const values = new Float64Array(a.values.length);
  let out = 0;
  const order: number[] = [];
  for (let i = 0; i < a.n; i++) {
    const start = a.rowPtr[i]!, end = a.rowPtr[i + 1]!;
    order.length = 0;
    for (let k = start; k < end; k++) order.push(k);
    order.sort((p, q) => a.colIdx[p]! - a.colIdx[q]! || p - q);
    for (const k of order) {
      const j = a.colIdx[k]!;
      if (out > rowPtr[i]! && colIdx[out - 1] === j) values[out - 1] = values[out - 1]! + a.values[k]!;
      else { colIdx[out] = j; values[out] = a.values[k]!; out++; }
    }
    rowPtr[i + 1] = out;
  }
  return { n: a.n, rowPtr, colIdx: colIdx.slice(0, out), values: values.slice(0, out) };
}

export function nnz(a: Csr): number {
  return a.values.length;
}

/** y = A x in plain TypeScript (the bench's own residual check uses this, never a peer's). */
export function multiply(a: Csr, x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(a.n);
  for (let i = 0; i < a.n; i++) {
    let s = 0;
    for (let k = a.rowPtr[i]!; k < a.rowPtr[i + 1]!; k++) s += a.values[k]! * x[a.colIdx[k]!]!;
    y[i] = s;
  }
  return y;
}

/** ||b - A x|| / ||b||. */
export function relativeResidual(a: Csr, x: ArrayLike<number>, b: ArrayLike<number>): number {
  const ax = multiply(a, x);
  let rr = 0, bb = 0;
  for (let i = 0; i < a.n; i++) {
    const d = b[i]! - ax[i]!;
    rr += d * d;
    bb += b[i]! * b[i]!;
  }
  return bb > 0 ? Math.sqrt(rr / bb) : Math.sqrt(rr);
}
