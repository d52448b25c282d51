// Finding the registry's highest schema id by asking which ids exist.
import assert from 'node:assert/strict';
import { highestSchemaId } from '../../../services/runtime/schema-id-ceiling';

const registryUpTo = (highest: number, missing: ReadonlySet<number> = new Set()) => {
  const asked: number[] = [];
  return { asked, schemaExists: async (id: number) => { asked.push(id); return id >= 1 && id <= highest && !missing.has(id); } };
};

describe('the registry\'s highest schema id', () => {
  for (const [known, highest] of [[0, 0], [0, 1], [1316, 1316], [1316, 3567], [5, 1_000_000]] as const) {
    it(`given ids 1..${highest} and ${known} known to exist, then it finds ${highest} in at most 2·log2(gap) + 2 requests`, async () => {
      const registry = registryUpTo(highest);
      assert.equal(await highestSchemaId(registry, known), highest);
      assert.ok(registry.asked.length <= 2 * Math.log2(highest - known + 2) + 2, `${registry.asked.length} requests`);
    });
  }

  it('given a deleted id on the way up, then the answer is below the truth, never above it', async () => {
    const found = await highestSchemaId(registryUpTo(3567, new Set([1320])), 1316);
    assert.ok(found >= 1316 && found <= 3567, String(found));
  });
});
