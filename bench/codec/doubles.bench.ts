// Encode+decode of 1e6 doubles: Avro array<double> vs packed float64 little-endian `bytes`.
// Decides the representation of matrix chunks and solution vectors (see schemas/packed.ts).
// Run: npx tsx bench/codec/doubles.bench.ts [n] [runs]
import avro from 'avsc';
import { performance } from 'node:perf_hooks';
import { packFloat64, unpackFloat64 } from '../../schemas/packed';
import { benchRecord, type Figure } from '../report/figures';

const N = Number(process.argv[2] ?? 1_000_000);
const RUNS = Math.max(5, Number(process.argv[3] ?? 9));

const arrayType = avro.Type.forSchema({
  type: 'record',
  name: 'ArrayChunk',
  fields: [{ name: 'values', type: { type: 'array', items: 'double' } }],
});
const bytesType = avro.Type.forSchema({
  type: 'record',
  name: 'PackedChunk',
  fields: [{ name: 'values', type: 'bytes' }],
});

// Deterministic data (LCG) so runs are comparable; no Math.random.
function data(n: number): Float64Array {
  const out = new Float64Array(n);
  let s = 0x2545f491;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 0x100000000 - 0.5) * 1e3;
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Result {
  encode: number;
  decode: number;
  total: number;
  bytes: number;
}

function measure(encode: () => Buffer, decode: (b: Buffer) => Float64Array | number[], check: (d: Float64Array | number[]) => void): Result {
  const enc: number[] = [];
  const dec: number[] = [];
  const tot: number[] = [];
  let size = 0;
  for (let r = 0; r < RUNS + 1; r++) {
    const t0 = performance.now();
    const buf = encode();
    const t1 = performance.now();
    const out = decode(buf);
    const t2 = performance.now();
    check(out);
    size = buf.length;
    if (r === 0) continue; // warm-up run, not counted
    enc.push(t1 - t0);
    dec.push(t2 - t1);
    tot.push(t2 - t0);
  }
  return { encode: median(enc), decode: median(dec), total: median(tot), bytes: size };
}

function main(): void {
  const record = benchRecord('codec', RUNS);
  const values = data(N);
  const asArray = Array.from(values);
  const check = (d: Float64Array | number[]): void => {
    if (d.length !== N || d[N - 1] !== values[N - 1]) throw new Error('round trip lost data');
  };

  const arr = measure(
    () => arrayType.toBuffer({ values: asArray }),
    (b) => (arrayType.fromBuffer(b) as { values: number[] }).values,
    check,
  );
  // Packed: pack (zero-copy view) then the Avro record encode copies it once into the message;
  // decode returns a Buffer slice, unpacked to a Float64Array (copy when the slice is unaligned).
  const packed = measure(
    () => bytesType.toBuffer({ values: packFloat64(values) }),
    (b) => unpackFloat64((bytesType.fromBuffer(b) as { values: Buffer }).values),
    check,
  );

  const row = (name: string, r: Result): string =>
    `${name.padEnd(22)} encode ${r.encode.toFixed(2).padStart(8)} ms  decode ${r.decode.toFixed(2).padStart(8)} ms  total ${r.total.toFixed(2).padStart(8)} ms  size ${r.bytes} B`;
  process.stdout.write(`doubles: n=${N}, median of ${RUNS} runs (after 1 warm-up), node ${process.version}\n`);
  process.stdout.write(`${row('avro array<double>', arr)}\n`);
  process.stdout.write(`${row('packed float64le bytes', packed)}\n`);
  process.stdout.write(
    `ratio array/packed: encode ${(arr.encode / packed.encode).toFixed(1)}x  decode ${(arr.decode / packed.decode).toFixed(1)}x  total ${(arr.total / packed.total).toFixed(1)}x\n`,
  );
  const section = `${N.toLocaleString('en-US')} doubles`;
  const vs = (name: string, k: 'encode' | 'decode' | 'total'): Figure => ({ section, name: `packed float64le bytes ${name}`, value: packed[k], unit: 'ms', better: 'lower', baseline: { name: `avro array<double> ${name}`, value: arr[k] } });
  record.done([vs('encode', 'encode'), vs('decode', 'decode'), vs('encode + decode', 'total'),
    { section, name: 'packed size', value: packed.bytes, unit: 'B', better: 'lower', baseline: { name: 'avro array<double> size', value: arr.bytes } }]);
}

main();
