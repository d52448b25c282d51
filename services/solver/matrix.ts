// A session's A and b from its row-block chunks, and entry lookup in the CSR pattern.
import type { MatrixChunkAppended, SessionOpened } from '../../schemas/generated/events';
import { unpackFloat64, unpackInt32 } from '../../schemas/packed';
import type { Csr } from '../../wasm';

/** Joins the row blocks into one CSR and b; a string says what is wrong. */
export function assemble(o: SessionOpened, chunks: Map<number, MatrixChunkAppended>): { csr: Csr; b: Float64Array } | string {
  const n = o.rows;
  const rowPtr = new Int32Array(n + 1);
  const b = new Float64Array(n);
  let nnz = 0;
  const blocks = [...chunks.values()].sort((p, q) => p.row_start - q.row_start);
  let next = 0;
  for (const c of blocks) {
    if (c.row_start !== next) return `chunk ${c.chunk_index} starts at row ${c.row_start}, expected ${next}: row blocks must tile 0..${n - 1}`;
    next = c.row_start + c.row_count;
    nnz += c.values.length / 8;
  }
  if (next !== n) return `row blocks cover rows 0..${next - 1}, the session has ${n}`;
  if (nnz !== o.nnz) return `chunks carry ${nnz} non-zeros, SessionOpened.nnz says ${o.nnz}`;
  const colIdx = new Int32Array(nnz);
  const values = new Float64Array(nnz);
  let at = 0;
  for (const c of blocks) {
    const rp = unpackInt32(c.row_pointers), ci = unpackInt32(c.col_indices), va = unpackFloat64(c.values);
    for (let r = 0; r < c.row_count; r++) rowPtr[c.row_start + r + 1] = at + rp[r + 1]!;
    colIdx.set(ci, at);
    values.set(va, at);
    b.set(unpackFloat64(c.b_values), c.row_start);
    at += va.length;
  }
  for (let i = 0; i < n; i++) {
    for (let k = rowPtr[i]! + 1; k < rowPtr[i + 1]!; k++) {
      if (colIdx[k]! <= colIdx[k - 1]!) return `row ${i}: column indices must be strictly increasing (canonical CSR)`;
    }
  }
  return { csr: { n, rowPtr, colIdx, values }, b };
}

/** Position of (row, col) in A's values, -1 when outside the sparsity pattern. */
export function entryIndex(a: Csr, row: number, col: number): number {
  let lo = a.rowPtr[row]!, hi = a.rowPtr[row + 1]! - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = a.colIdx[mid]!;
    if (c === col) return mid;
    if (c < col) lo = mid + 1; else hi = mid - 1;
  }
  return -1;
}
