import assert from 'node:assert/strict';
import { PackedLengthError, packFloat64, packInt32, unpackFloat64, unpackInt32 } from '../../../schemas/packed';

describe('schemas/packed', () => {
  it('round-trips float64 including -0 and extremes', () => {
    const xs = Float64Array.from([0, -0, 1.5, -2.25, Number.MAX_VALUE, Number.MIN_VALUE]);
    assert.deepStrictEqual(unpackFloat64(packFloat64(xs)), xs);
  });

  it('writes little-endian bytes', () => {
    assert.deepEqual([...packInt32([1])], [1, 0, 0, 0]);
    assert.deepEqual([...packFloat64([1])], [0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
  });

  it('packs without copying and unpacks aligned buffers as views', () => {
    const xs = Float64Array.from([1, 2, 3]);
    const buf = packFloat64(xs);
    assert.equal(buf.buffer, xs.buffer);
    const view = unpackFloat64(buf);
    assert.equal(view.buffer, xs.buffer);
  });

  it('copies when the buffer is not aligned (as in a decoded Avro message)', () => {
    // given int32 values at byte offset 1 of a larger message
    const msg = Buffer.alloc(1 + 8);
    packInt32([7, -8]).copy(msg, 1);
    const slice = msg.subarray(1);
    // when unpacked, then the values are right although a view was impossible
    assert.deepStrictEqual([...unpackInt32(slice)], [7, -8]);
  });

  it('rejects lengths that are not a multiple of the element size, naming the field', () => {
    assert.throws(() => unpackFloat64(Buffer.alloc(12), 'values'), (e: unknown) => e instanceof PackedLengthError && /values: packed byte length 12 is not a multiple of 8/.test(e.message));
    assert.throws(() => unpackInt32(Buffer.alloc(6), 'col_indices'), /col_indices: packed byte length 6 is not a multiple of 4/);
  });
});
