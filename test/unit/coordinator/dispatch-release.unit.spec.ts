import assert from 'node:assert/strict';
import { releasePoint, type Send } from '../../../services/coordinator/dispatch';

// Given sends by 10 ms bucket, when the dispatcher picks its next tick with a transport allowance
// of 100 ms and 50 µs of production per message, then the tick goes at the earliest need of any
// bucket (bucket - 100 ms - its sends so far x 50 µs) and sends through that bucket.
const T0 = 1_767_225_600_000; // ms
const sends = (bucketMs: number, n: number, tag: string): Send[] =>
  Array.from({ length: n }, (_, i) => ({ agentId: `${tag}${String(i).padStart(5, '0')}`, sendAt: (T0 + bucketMs) * 1000, bucketAt: (T0 + bucketMs) * 1000, leadMs: 10, processingMs: 5, confidence: 0.9 }));

describe('dispatch release point (bench-coordination: a broadcast\'s burst before T)', () => {
  it('given 1 send at 0 ms and 10,000 at 300 ms, then the burst needs the tick first: at 300 - 100 - ceil(10,001 x 0.05) = -301 ms, through 300 ms (both buckets)', () => {
    const s = [...sends(0, 1, 'a'), ...sends(300, 10_000, 'b')];
    assert.deepEqual(releasePoint(s, 0, 100, 50), { writeAtMs: T0 - 301, throughUs: (T0 + 300) * 1000 });
  });

  it('given 1 send at 0 ms, 1 at 100 ms and 10,000 at 1000 ms, then one tick per small bucket (-101, then -1 ms) and the burst\'s at 1000 - 100 - 500 = 400 ms', () => {
    const s = [...sends(0, 1, 'a'), ...sends(100, 1, 'b'), ...sends(1000, 10_000, 'c')];
    assert.deepEqual(releasePoint(s, 0, 100, 50), { writeAtMs: T0 - 101, throughUs: T0 * 1000 });
    assert.deepEqual(releasePoint(s, 1, 100, 50), { writeAtMs: T0 - 1, throughUs: (T0 + 100) * 1000 });
    assert.deepEqual(releasePoint(s, 2, 100, 50), { writeAtMs: T0 + 400, throughUs: (T0 + 1000) * 1000 });
  });

  it('given no production allowance, then the next bucket, the transport allowance early (one tick per bucket)', () => {
    const s = [...sends(0, 1, 'a'), ...sends(300, 10_000, 'b')];
    assert.deepEqual(releasePoint(s, 0, 100, 0), { writeAtMs: T0 - 100, throughUs: T0 * 1000 });
  });
});
