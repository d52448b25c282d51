import assert from 'node:assert/strict';
import { arbitraryEvent, seededRng, type Rng } from '../../../schemas/arbitrary';
import { loadEventSchemas } from '../../../schemas/catalog';
import { EVENT_TYPES, type SolvermeshEvent } from '../../../schemas/generated/events';
import { packFloat64 } from '../../../schemas/packed';
import { DEFAULT_LIMITS, validateEvent, type ValidationLimits } from '../../../schemas/validate';
import { schemaValidator } from '../../../services/runtime/validation';

// The runner's validator is compiled per event type; these specs hold it to the generic walk of
// schemas/validate.ts: the same reasons, or none, for every event, valid or broken.
const reasons = (e: SolvermeshEvent, limits: ValidationLimits) => validateEvent(e, limits).map((i) => `${i.code} at ${i.path}: ${i.message}`);

/** Through Avro and back, as the runner sees events (Buffers are slices of the record). */
function decoded(e: SolvermeshEvent): SolvermeshEvent {
  const avro = loadEventSchemas().get(e.type)!.type;
  const { type, ...body } = e;
  return Object.assign(avro.fromBuffer(avro.toBuffer(body)) as object, { type }) as SolvermeshEvent;
}

/** Every leaf of an event with a setter, depth first. */
function leaves(v: unknown, set: (x: unknown) => void, out: Array<{ value: unknown; set: (x: unknown) => void }>): void {
  if (Buffer.isBuffer(v) || v === null || typeof v !== 'object') { out.push({ value: v, set }); return; }
  if (Array.isArray(v)) {
    out.push({ value: v, set });
    v.forEach((x, i) => leaves(x, (y) => { v[i] = y; }, out));
    return;
  }
  for (const k of Object.keys(v)) if (k !== 'type') leaves((v as Record<string, unknown>)[k], (y) => { (v as Record<string, unknown>)[k] = y; }, out);
}

/** A value of the same shape (Avro guarantees shapes) that is wrong for, or at the edge of, what the leaf allows. */
function breakValue(v: unknown, rng: Rng): unknown {
  const pick = <T>(xs: T[]) => xs[Math.floor(rng() * xs.length)]!;
  if (typeof v === 'number') return pick([NaN, Infinity, -Infinity, -1, -0.5, 0, 1, 1e12, -1e12, 2 ** 31]);
  if (typeof v === 'string') return pick(['', 'x'.repeat(17), 'x'.repeat(16)]);
  if (Buffer.isBuffer(v)) return pick([Buffer.alloc(3), Buffer.alloc(8), packFloat64([1, NaN]), packFloat64([Infinity]), Buffer.alloc(96), packFloat64([1, 2])]);
  if (Array.isArray(v)) return pick([[], [...v, ...v, ...v], v.slice(0, 1)]);
  return v; // null, booleans: Avro fixes their shape
}

describe('runtime/validation: the compiled validator', () => {
  const small: ValidationLimits = { ...DEFAULT_LIMITS, maxStringLength: 16, maxArrayItems: 4, maxBytesLength: 64, maxPayloadBytes: 64, maxTargets: 4, maxChunkValues: 8, maxChunkRows: 8, maxVectorChunkValues: 8 };

  for (const limits of [DEFAULT_LIMITS, small]) {
    const label = limits === DEFAULT_LIMITS ? 'default limits' : 'small limits';

    it(`given valid events of every type (${label}), when validated, then it gives the walk's verdict`, () => {
      const rng = seededRng(7);
      const validate = schemaValidator(limits);
      for (const type of EVENT_TYPES) {
        for (let i = 0; i < 20; i++) {
          const e = decoded(arbitraryEvent(type, rng));
          assert.deepEqual(validate(e), reasons(e, limits), `${type} #${i}`);
        }
      }
    });

    it(`given events with one leaf broken (${label}), when validated, then it gives the walk's reasons`, () => {
      const rng = seededRng(11);
      const validate = schemaValidator(limits);
      let invalid = 0;
      for (const type of EVENT_TYPES) {
        for (let i = 0; i < 40; i++) {
          const e = decoded(arbitraryEvent(type, rng));
          const ls: Array<{ value: unknown; set: (x: unknown) => void }> = [];
          leaves(e, () => undefined, ls);
          const leaf = ls[Math.floor(rng() * ls.length)]!;
          leaf.set(breakValue(leaf.value, rng));
          const want = reasons(e, limits);
          if (want.length > 0) invalid++;
          assert.deepEqual(validate(e), want, `${type} #${i}`);
        }
      }
      // The mutations must have reached the failing side often, or this asserts little.
      assert.ok(invalid > EVENT_TYPES.length * 5, `only ${invalid} broken events were invalid`);
    });
  }

  it('given an unknown event type, when validated, then it says so like the walk', () => {
    // A type no schema has (the codec never yields one): deliberately outside the union.
    const e = { type: 'NoSuchEvent' } as unknown as SolvermeshEvent;
    assert.deepEqual(schemaValidator()(e), reasons(e, DEFAULT_LIMITS));
    assert.equal(schemaValidator()(e).length, 1);
  });
});
