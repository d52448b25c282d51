// Matrix Market (NIST exchange format) reader and writer. Pure: text in, arrays out.
// Header: %%MatrixMarket matrix <coordinate|array> <real|integer|pattern> <general|symmetric|skew-symmetric>
// coordinate: "rows cols nnz" then 1-based "i j [value]" lines; array: "rows cols" then values in
// column-major order. Symmetric files store the lower triangle only.
import { csrFromCoo } from '../../wasm/src/csr';
import type { Csr } from '../../wasm/src/types';

export type Symmetry = 'general' | 'symmetric' | 'skew-symmetric';

export type MatrixMarket =
  | { readonly format: 'coordinate'; readonly rows: number; readonly cols: number; readonly symmetry: Symmetry;
      readonly i: Int32Array; readonly j: Int32Array; readonly v: Float64Array }
  | { readonly format: 'array'; readonly rows: number; readonly cols: number; readonly symmetry: Symmetry; readonly values: Float64Array };

function fail(line: number, msg: string): never {
  throw new Error(`Matrix Market line ${line}: ${msg}`);
}

/** Indices are Int32 on the kernels' side. */
const MAX_DIMENSION = 2 ** 31 - 1;

function count(tok: string | undefined, line: number, what: string): number {
  const v = Number(tok);
  if (tok === undefined || !Number.isInteger(v) || v < 0) fail(line, `${what} must be a non-negative integer (got '${tok ?? ''}')`);
  if (v > MAX_DIMENSION) fail(line, `${what} ${tok} is above the largest supported ${MAX_DIMENSION}`);
  return v;
}

/** Lines from `at` on that hold data (not blank, not a comment). */
function dataLinesFrom(lines: readonly string[], at: number): number {
  let n = 0;
  for (let k = at; k < lines.length; k++) {
    const t = lines[k]!.trim();
    if (t !== '' && !t.startsWith('%')) n++;
  }
  return n;
}

/** The first data line from `at` on, 1-based, or 0 when there is none: entries beyond the declared count. */
function firstDataLine(lines: readonly string[], at: number): number {
  for (let k = at; k < lines.length; k++) {
    const t = lines[k]!.trim();
    if (t !== '' && !t.startsWith('%')) return k + 1;
  }
  return 0;
}

export function parseMatrixMarket(text: string): MatrixMarket {
  const lines = text.split('\n');
  const header = (lines[0] ?? '').trim().toLowerCase().split(/\s+/);
  if (header[0] !== '%%matrixmarket' || header[1] !== 'matrix') fail(1, "expected '%%MatrixMarket matrix <format> <field> <symmetry>'");
  const format = header[2];
  const field = header[3];
  const symmetry = header[4] as Symmetry | undefined;
  if (format !== 'coordinate' && format !== 'array') fail(1, `unsupported format '${format ?? ''}' (coordinate or array)`);
  if (field !== 'real' && field !== 'integer' && field !== 'pattern' && field !== 'double') fail(1, `unsupported field '${field ?? ''}' (real, integer or pattern)`);
  if (symmetry !== 'general' && symmetry !== 'symmetric' && symmetry !== 'skew-symmetric') fail(1, `unsupported symmetry '${symmetry ?? ''}'`);
  if (format === 'array' && field === 'pattern') fail(1, 'array format cannot be pattern');

  let at = 1;
  while (at < lines.length && (lines[at]!.startsWith('%') || lines[at]!.trim() === '')) at++;
  if (at >= lines.length) fail(at, 'size line missing');
  const size = lines[at]!.trim().split(/\s+/);
  const rows = count(size[0], at + 1, 'rows');
  const cols = count(size[1], at + 1, 'cols');
  at++;

  if (format === 'array') {
    if (symmetry !== 'general') fail(1, 'symmetric array storage is not supported; use coordinate');
    const total = rows * cols;
    // Checked before allocating: a header may claim far more than the file holds.
    const present = dataLinesFrom(lines, at);
    if (present < total) fail(at, `size line declares ${rows}×${cols} = ${total} values, the file holds ${present}`);
    const vals: number[] = [];
    for (; at < lines.length && vals.length < total; at++) {
      const t = lines[at]!.trim();
      if (t === '' || t.startsWith('%')) continue;
      const v = Number(t.split(/\s+/)[0]);
      if (!Number.isFinite(v)) fail(at + 1, `value '${t}' is not a finite number`);
      vals.push(v);
    }
    const extra = firstDataLine(lines, at);
    if (extra !== 0) fail(extra, `more values than the ${total} the size line declares`);
    return { format, rows, cols, symmetry, values: Float64Array.from(vals) };
  }

  const nnz = count(size[2], at, 'nnz');
  const present = dataLinesFrom(lines, at);
  if (present < nnz) fail(at, `size line declares ${nnz} entries, the file holds ${present}`);
  const I = new Int32Array(nnz), J = new Int32Array(nnz), V = new Float64Array(nnz);
  let k = 0;
  for (; at < lines.length && k < nnz; at++) {
    const t = lines[at]!.trim();
    if (t === '' || t.startsWith('%')) continue;
    const p = t.split(/\s+/);
    const i = Number(p[0]), j = Number(p[1]);
    if (!Number.isInteger(i) || i < 1 || i > rows) fail(at + 1, `row ${p[0] ?? ''} outside 1..${rows}`);
    if (!Number.isInteger(j) || j < 1 || j > cols) fail(at + 1, `column ${p[1] ?? ''} outside 1..${cols}`);
    const v = field === 'pattern' ? 1 : Number(p[2]);
    if (!Number.isFinite(v)) fail(at + 1, `value '${p[2] ?? ''}' is not a finite number`);
    // Symmetric storage holds the lower triangle; an upper entry would be mirrored onto a second copy.
    if (symmetry === 'symmetric' && j > i) fail(at + 1, `entry (${i}, ${j}) is above the diagonal; symmetric storage holds the lower triangle only`);
    if (symmetry === 'skew-symmetric' && j >= i) fail(at + 1, `entry (${i}, ${j}) is on or above the diagonal; skew-symmetric storage holds the strict lower triangle only`);
    I[k] = i - 1; J[k] = j - 1; V[k] = v;
    k++;
  }
  const extra = firstDataLine(lines, at);
  if (extra !== 0) fail(extra, `more entries than the ${nnz} the size line declares`);
  return { format, rows, cols, symmetry, i: I, j: J, v: V };
}

/** A square coordinate matrix as canonical CSR (symmetric storage expanded, duplicates summed). */
export function matrixMarketToCsr(m: MatrixMarket): Csr {
  if (m.rows !== m.cols) throw new Error(`matrix must be square (got ${m.rows}×${m.cols})`);
  if (m.format === 'array') {
    const r: number[] = [], c: number[] = [], v: number[] = [];
    for (let j = 0; j < m.cols; j++) for (let i = 0; i < m.rows; i++) {
      const x = m.values[j * m.rows + i]!;
      if (x !== 0) { r.push(i); c.push(j); v.push(x); }
    }
    return csrFromCoo(m.rows, r, c, v);
  }
  if (m.symmetry === 'general') return csrFromCoo(m.rows, m.i, m.j, m.v);
  const sign = m.symmetry === 'skew-symmetric' ? -1 : 1;
  let off = 0;
  for (let k = 0; k < m.i.length; k++) if (m.i[k] !== m.j[k]) off++;
  const total = m.i.length + off;
  const I = new Int32Array(total), J = new Int32Array(total), V = new Float64Array(total);
  let at = 0;
  for (let k = 0; k < m.i.length; k++) {
    I[at] = m.i[k]!; J[at] = m.j[k]!; V[at] = m.v[k]!; at++;
    if (m.i[k] !== m.j[k]) { I[at] = m.j[k]!; J[at] = m.i[k]!; V[at] = sign * m.v[k]!; at++; }
  }
  return csrFromCoo(m.rows, I, J, V);
}

/** A vector from an n×1 (or 1×n) array or coordinate file. */
export function matrixMarketToVector(m: MatrixMarket): Float64Array {
  if (m.rows !== 1 && m.cols !== 1) throw new Error(`expected a vector (n×1), got ${m.rows}×${m.cols}`);
  const n = m.rows * m.cols;
  if (m.format === 'array') return m.values.slice();
  const out = new Float64Array(n);
  for (let k = 0; k < m.i.length; k++) {
    const at = m.rows === 1 ? m.j[k]! : m.i[k]!;
    out[at] = out[at]! + m.v[k]!;
  }
  return out;
}

/** Shortest round-trip decimal, so a written vector reads back bit for bit. */
function num(v: number): string {
  return String(v);
}

export function writeMatrixMarketVector(x: ArrayLike<number>, comment?: string): string {
  const out = ['%%MatrixMarket matrix array real general'];
  if (comment !== undefined) for (const l of comment.split('\n')) out.push(`% ${l}`);
  out.push(`${x.length} 1`);
  for (let i = 0; i < x.length; i++) out.push(num(x[i]!));
  return out.join('\n') + '\n';
}

export function writeMatrixMarketCsr(a: Csr, comment?: string): string {
  const out = ['%%MatrixMarket matrix coordinate real general'];
  if (comment !== undefined) for (const l of comment.split('\n')) out.push(`% ${l}`);
  out.push(`${a.n} ${a.n} ${a.values.length}`);
  for (let i = 0; i < a.n; i++) {
    for (let k = a.rowPtr[i]!; k < a.rowPtr[i + 1]!; k++) out.push(`${i + 1} ${a.colIdx[k]! + 1} ${num(a.values[k]!)}`);
  }
  return out.join('\n') + '\n';
}
