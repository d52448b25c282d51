// The fuzz suite at CI size (issue 15): every input topic of the six processor services flooded
// with valid, hostile-but-well-formed and raw records from one seeded generator
// (test/support/fuzz.ts). FUZZ_SEED replays a failing run; FUZZ_RECORDS sets the records per
// topic. `make soak` runs the same at a larger size and writes the table.
import assert from 'node:assert/strict';
import { runFuzz } from '../../support/fuzz';

const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const perTopic = Number(process.env.FUZZ_RECORDS ?? 30);

describe('fuzz: every input topic of every service (issue 15)', function () {
  this.timeout(300_000);

  it(`given ${perTopic} seeded records per input topic (seed ${seed}), then every invalid one is dead-lettered with a reason, no valid one is lost, and no service crashes`, async () => {
    console.log(`fuzz seed ${seed} (FUZZ_SEED=${seed} replays it)`);
    const r = await runFuzz({ perTopic, seed, log: (m) => console.log(m) });
    console.table(r.topics.map((t) => ({ topic: t.topic, services: t.services.join(','), records: t.records, invalid: t.invalid, dead_lettered: t.invalidDeadLettered, valid_lost: t.validLost, valid_refused: t.validRefused })));
    assert.deepEqual(r.crashed, [], `crashed (seed ${seed})`);
    assert.deepEqual(r.failures.slice(0, 20), [], `seed ${seed}: ${r.failures.length} failures`);
    assert.ok(r.topics.every((t) => t.invalid > 0 && t.valid > 0), 'each topic got valid and invalid records');
  });
});
