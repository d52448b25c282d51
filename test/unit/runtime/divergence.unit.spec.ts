// Given recorded and recomputed events, when compared, then the first difference is named by
// field (doubles bit for bit, wall-clock durations skipped) and by the recorded record's place.
import assert from 'node:assert/strict';
import { firstDifference, firstDivergence } from '../../../services/runtime/divergence';

describe('runtime/divergence: comparing replayed events', () => {
  it('given doubles one ulp apart, then they differ; given -0 and 0, then they differ too (bit for bit)', () => {
    assert.deepEqual(firstDifference({ a: { b: [1, 0.1] } }, { a: { b: [1, 0.1 + 2 ** -56] } }), { path: 'a.b[1]', a: 0.1, b: 0.1 + 2 ** -56 });
    assert.equal(firstDifference({ x: -0 }, { x: 0 })?.path, 'x');
    assert.equal(firstDifference({ x: Buffer.from([1]) }, { x: Buffer.from([1]) }), undefined);
  });

  it('given events that differ only in verification_time_ms or iteration_time_ms, then they are the same', () => {
    assert.equal(firstDifference({ verification_time_ms: 1, iteration_time_ms: 2, v: 3 }, { verification_time_ms: 9, iteration_time_ms: 8, v: 3 }), undefined);
  });

  it('given sequences of different lengths or a changed event, then the first place is reported with its topic and offset', () => {
    const rec = (offset: number, v: number) => ({ topic: 't', offset, event: { v } });
    assert.equal(firstDivergence([rec(4, 1), rec(9, 2)], [{ v: 1 }, { v: 2 }], (e) => e), undefined);
    assert.deepEqual(firstDivergence([rec(4, 1), rec(9, 2)], [{ v: 1 }, { v: 3 }], (e) => e), { index: 1, topic: 't', offset: 9, field: 'v', recorded: 2, recomputed: 3 });
    assert.deepEqual(firstDivergence([rec(4, 1), rec(9, 2)], [{ v: 1 }], (e) => e), { index: 1, topic: 't', offset: 9, field: '(missing recomputed event)', recorded: { v: 2 }, recomputed: null });
    assert.deepEqual(firstDivergence([rec(4, 1)], [{ v: 1 }, { v: 5 }], (e) => e), { index: 1, topic: null, offset: null, field: '(extra recomputed event)', recorded: null, recomputed: { v: 5 } });
  });
});
