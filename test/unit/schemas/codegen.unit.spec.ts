import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadEventSchemas } from '../../../schemas/catalog';
import { GENERATED_FILE, generateEventTypes } from '../../../schemas/codegen';
import { EVENT_TYPES } from '../../../schemas/generated/events';

describe('schemas/codegen', () => {
  it('generated/events.ts is up to date with the .avsc files (run `npx tsx schemas/codegen.ts`)', () => {
    // given the committed file, when the types are regenerated in memory
    const fresh = generateEventTypes(loadEventSchemas());
    // then nothing differs
    const committed = readFileSync(GENERATED_FILE, 'utf8');
    assert.ok(committed === fresh, 'schemas/generated/events.ts is stale: run `npx tsx schemas/codegen.ts` and commit it');
  });

  it('lists every event type exactly once in EVENT_TYPES', () => {
    assert.deepEqual([...EVENT_TYPES], [...loadEventSchemas().keys()].sort());
  });
});
