import assert from 'node:assert/strict';
import { frame, unframe } from '../../../services/runtime/wire-format';
import { SolvermeshError } from '../../../services/runtime/errors';

describe('Confluent wire format', () => {
  it('frames a body as magic 0, a big-endian schema id and the Avro bytes', () => {
    const out = frame(0x01020304, Buffer.from([0xaa, 0xbb]));
    assert.deepEqual([...out], [0, 1, 2, 3, 4, 0xaa, 0xbb]);
  });

  it('reads back what it framed', () => {
    const { schemaId, body } = unframe(frame(4_000_000_000, Buffer.from('x')));
    assert.equal(schemaId, 4_000_000_000);
    assert.equal(body.toString(), 'x');
  });

  const poisonCases: Array<[string, Buffer | null, RegExp]> = [
    ['a null value', null, /empty record value/],
    ['fewer than 5 bytes', Buffer.from([0, 0, 1]), /shorter than the 5-byte/],
    ['a wrong magic byte', Buffer.from([7, 0, 0, 0, 1, 2]), /magic byte is 7/],
  ];
  for (const [what, buf, reason] of poisonCases) {
    it(`rejects ${what} as a non-retriable DECODE_FAILED`, () => {
      assert.throws(() => unframe(buf), (err: unknown) => {
        assert.ok(err instanceof SolvermeshError);
        assert.equal(err.code, 'DECODE_FAILED');
        assert.equal(err.retriable, false);
        assert.match(err.message, reason);
        return true;
      });
    });
  }
});
