// Packed little-endian numeric arrays carried in Avro `bytes` fields (matrix chunks, solution
// vectors). Measured faster than Avro array<double> at 1e6 values: see bench/codec/doubles.bench.ts.
// Views are zero-copy when the Buffer's offset is aligned to the element size (Buffers decoded
// by avsc are slices of the message and often are not), a copy otherwise.
import { endianness } from 'node:os';

/** Byte size of one element per packed layout. */
export const PACKED_ELEMENT_SIZE = { float64le: 8, int32le: 4 } as const;
export type PackedLayout = keyof typeof PACKED_ELEMENT_SIZE;

// Typed arrays use the platform's byte order; the wire order is little-endian.
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

export class PackedLengthError extends Error {
  override readonly name = 'PackedLengthError';
  constructor(readonly field: string, readonly byteLength: number, readonly elementSize: number) {
    super(`${field}: packed byte length ${byteLength} is not a multiple of ${elementSize}`);
  }
}

function checkLength(buf: Uint8Array, size: number, field: string): number {
  if (buf.byteLength % size !== 0) throw new PackedLengthError(field, buf.byteLength, size);
  return buf.byteLength / size;
}

/** Float64Array over `buf` (float64 little-endian, length = byteLength / 8). */
export function unpackFloat64(buf: Uint8Array, field = 'bytes'): Float64Array {
  const n = checkLength(buf, 8, field);
  if (!LITTLE_ENDIAN_HOST) return readSwapped(buf, n, 8, (v, i) => v.getFloat64(i, true), Float64Array);
  if (buf.byteOffset % 8 === 0) return new Float64Array(buf.buffer, buf.byteOffset, n);
  return new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
}

/** Int32Array over `buf` (int32 little-endian, length = byteLength / 4). */
export function unpackInt32(buf: Uint8Array, field = 'bytes'): Int32Array {
  const n = checkLength(buf, 4, field);
  if (!LITTLE_ENDIAN_HOST) return readSwapped(buf, n, 4, (v, i) => v.getInt32(i, true), Int32Array);
  if (buf.byteOffset % 4 === 0) return new Int32Array(buf.buffer, buf.byteOffset, n);
  return new Int32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
}

/** Buffer sharing memory with `values` (float64 little-endian). */
export function packFloat64(values: Float64Array | readonly number[]): Buffer {
  const arr = values instanceof Float64Array ? values : Float64Array.from(values);
  if (!LITTLE_ENDIAN_HOST) return writeSwapped(arr, 8, (v, i, x) => v.setFloat64(i, x, true));
  return Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength);
}

/** Buffer sharing memory with `values` (int32 little-endian). */
export function packInt32(values: Int32Array | readonly number[]): Buffer {
  const arr = values instanceof Int32Array ? values : Int32Array.from(values);
  if (!LITTLE_ENDIAN_HOST) return writeSwapped(arr, 4, (v, i, x) => v.setInt32(i, x, true));
  return Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength);
}

/** Element count of a packed buffer, or a PackedLengthError. */
export function packedCount(buf: Uint8Array, layout: PackedLayout, field = 'bytes'): number {
  return checkLength(buf, PACKED_ELEMENT_SIZE[layout], field);
}

function readSwapped<T extends Float64Array | Int32Array>(
  buf: Uint8Array,
  n: number,
  size: number,
  get: (v: DataView, i: number) => number,
  Ctor: new (n: number) => T,
): T {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out = new Ctor(n);
  for (let i = 0; i < n; i++) out[i] = get(view, i * size);
  return out;
}

function writeSwapped(arr: Float64Array | Int32Array, size: number, set: (v: DataView, i: number, x: number) => void): Buffer {
  const out = Buffer.alloc(arr.length * size);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < arr.length; i++) set(view, i * size, arr[i]!);
  return out;
}
