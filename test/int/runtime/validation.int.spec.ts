import assert from 'node:assert/strict';
import { arbitraryEvent, seededRng } from '../../../schemas/arbitrary';
import type { CostUpdated, MatrixChunkAppended, SolvermeshEvent } from '../../../schemas/generated/events';
import { packFloat64, packInt32 } from '../../../schemas/packed';
import { DLQ_HEADERS } from '../../../services/runtime/dead-letter';
import { startService, type RunningService, type ServiceDefinition } from '../../../services/runtime/service';
import { TestKafka } from '../../support/kafka';

// A processor that accepts every solver input and echoes its type, so the spec sees exactly
// which records got past decode-time validation.
const echo: ServiceDefinition = {
  name: 'validation-echo',
  processor: () => ({
    name: 'validation-echo',
    inputs: ['solver.sessions', 'solver.costs'],
    accepts: ['CostUpdated', 'MatrixChunkAppended'],
    handle: (event, ctx) => [{ topic: 'solver.iterations.dlq', key: `passed:${ctx.key}`, event }],
  }),
};

function chunk(over: Partial<MatrixChunkAppended>): MatrixChunkAppended {
  // 2 rows of a 4x4 matrix: row 0 has cols 0,1; row 1 has col 1.
  return {
    ...arbitraryEvent('MatrixChunkAppended', seededRng(7)),
    rows: 4, cols: 4, row_start: 0, row_count: 2, chunk_index: 0, chunk_count: 2,
    row_pointers: packInt32([0, 2, 3]), col_indices: packInt32([0, 1, 1]), values: packFloat64([4, -1, 4]), b_values: packFloat64([1, 2]),
    ...over,
  };
}

function cost(over: Partial<CostUpdated>): CostUpdated {
  return { ...arbitraryEvent('CostUpdated', seededRng(11)), delta_indices: [1, 2], delta_values: [0.5, -0.25], matrix_updates: [], ...over };
}

describe('decode-time validation sends bad records to the DLQ with a reason', function () {
  this.timeout(120_000);
  let k: TestKafka;
  let svc: RunningService;

  before(async () => {
    k = await TestKafka.create('validation');
    svc = await startService(echo, { ...process.env, TOPIC_PREFIX: k.prefix, HTTP_PORT: '0', LOG_LEVEL: 'silent' });
  });
  after(async () => {
    await svc?.stop();
    await k?.close();
  });

  const bad: Array<[string, string, SolvermeshEvent, RegExp]> = [
    ['a NaN cost delta', 'solver.costs', cost({ delta_values: [0.5, Number.NaN] }), /NON_FINITE at delta_values\[1\]/],
    ['an Infinity inside packed matrix values', 'solver.sessions', chunk({ values: packFloat64([4, Infinity, 4]) }), /NON_FINITE at values\[1\]/],
    ['a column index past the dimension', 'solver.sessions', chunk({ col_indices: packInt32([0, 9, 1]) }), /INDEX_OUT_OF_RANGE at col_indices\[1\]/],
    ['mismatched indices and values', 'solver.costs', cost({ delta_indices: [1, 2, 3] }), /LENGTH_MISMATCH/],
    ['an oversized chunk', 'solver.sessions', chunk({ row_count: 70_000, rows: 100_000, row_pointers: packInt32(new Array(70_001).fill(0)), b_values: packFloat64(new Array(70_000).fill(0)) }), /TOO_LARGE/],
  ];

  it('dead-letters NaN, Infinity, an index past the dimension, mismatched lengths and an oversized chunk, each with a reason naming the problem, and passes the valid records', async () => {
    // given: each bad record, keyed by its case, then one valid record per topic, keyed by its session
    for (const [what, topic, event] of bad) await k.sendEvents(topic, [{ key: what, event }]);
    const [goodCost, goodChunk] = [cost({}), chunk({})];
    await k.sendEvents('solver.costs', [{ key: goodCost.session_id, event: goodCost }]);
    await k.sendEvents('solver.sessions', [{ key: goodChunk.session_id, event: goodChunk }]);

    // then: every bad record is on its topic's DLQ with VALIDATION_FAILED and a precise reason
    for (const topic of ['solver.costs', 'solver.sessions']) {
      const expected = bad.filter(([, t]) => t === topic);
      const dead = await k.collect(`${topic}.dlq`, (r) => r.length >= expected.length);
      assert.equal(dead.length, expected.length);
      for (const [what, , , reason] of expected) {
        const d = dead.find((r) => r.key === what);
        assert.ok(d, `${what} should be dead-lettered`);
        assert.equal(d.headers[DLQ_HEADERS.errorClass], 'VALIDATION_FAILED');
        assert.match(d.headers[DLQ_HEADERS.errorMessage]!, reason, what);
      }
    }
    // and: the valid records reached the processor, the invalid ones never did
    const passed = await k.collect('solver.iterations.dlq', (r) => r.length >= 2);
    assert.deepEqual(passed.map((r) => r.key).sort(), [`passed:${goodChunk.session_id}`, `passed:${goodCost.session_id}`].sort());
  });
});
