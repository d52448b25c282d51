import assert from 'node:assert/strict';
import { arbitraryEvent, seededRng } from '../../../schemas/arbitrary';
import { loadEventSchemas } from '../../../schemas/catalog';
import { EVENT_TYPES, type SolvermeshEvent } from '../../../schemas/generated/events';
import { validateEvent } from '../../../schemas/validate';

const SAMPLES_PER_TYPE = 50;

// avsc decodes records into generated classes; compare as plain data.
function plain(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return v;
  if (Array.isArray(v)) return v.map(plain);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
}

describe('schemas: Avro round trip of every event type', () => {
  const schemas = loadEventSchemas();

  it('covers every .avsc event', () => {
    assert.equal(EVENT_TYPES.length, schemas.size);
  });

  for (const type of EVENT_TYPES) {
    it(`${type}: encode -> decode gives the same event, and the event is valid`, () => {
      const rng = seededRng(0x5eed ^ type.length);
      const avro = schemas.get(type)!.type;
      for (let i = 0; i < SAMPLES_PER_TYPE; i++) {
        // given a random valid event
        const event = arbitraryEvent(type, rng);
        assert.deepEqual(validateEvent(event), [], `${type} sample ${i} should be valid`);
        // when it is encoded without its TS discriminator and decoded again
        const { type: _discriminator, ...body } = event;
        const decoded = { type, ...(plain(avro.fromBuffer(avro.toBuffer(body))) as object) } as SolvermeshEvent;
        // then nothing changed
        assert.deepStrictEqual(decoded, plain(event));
      }
    });
  }

  it('is deterministic for a seed', () => {
    const a = arbitraryEvent('MatrixChunkAppended', seededRng(7));
    const b = arbitraryEvent('MatrixChunkAppended', seededRng(7));
    assert.deepStrictEqual(a, b);
  });
});
