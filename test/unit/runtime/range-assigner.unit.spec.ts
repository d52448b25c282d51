import assert from 'node:assert/strict';
import { rangeAssignment } from '../../../services/runtime/kafka/range-assigner';

describe('range assignment (kafkajs engine)', () => {
  const six = [0, 1, 2, 3, 4, 5];
  const topics = new Map([['solver.sessions', six], ['solver.costs', six], ['solver.commands', six]]);

  for (const members of [1, 2, 4, 5, 7]) {
    it(`gives partition p of every co-partitioned topic to one member, with ${members} members`, () => {
      const plan = rangeAssignment(Array.from({ length: members }, (_, i) => `m-${i}`), topics);
      const owner = new Map<string, string>();
      for (const [member, assignment] of plan) {
        for (const [topic, partitions] of Object.entries(assignment)) {
          for (const p of partitions) {
            const seen = owner.get(`${p}`);
            assert.ok(seen === undefined || seen === member, `partition ${p} of ${topic} split between ${seen} and ${member}`);
            owner.set(`${p}`, member);
          }
        }
      }
      assert.equal(owner.size, 6, 'every partition is assigned');
    });
  }

  it('spreads partitions evenly, the first members taking the remainder', () => {
    const plan = rangeAssignment(['b', 'a', 'c', 'd'], new Map([['t', six]]));
    assert.deepEqual(Object.fromEntries([...plan].map(([m, a]) => [m, a.t ?? []])), { a: [0, 1], b: [2, 3], c: [4], d: [5] });
  });
});
