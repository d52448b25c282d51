// The runner's wait between attempts at a retriable failure: doubling, then capped, so the longest
// MAX_RETRIES (100) never asks setTimeout for more than it can wait.
import assert from 'node:assert/strict';
import { backoffMs, MAX_BACKOFF_MS } from '../../../services/runtime/runner';

describe('retry backoff', () => {
  it('given the default 200 ms, then attempts 1, 2, 3 wait 200, 400, 800 ms', () => {
    assert.deepEqual([1, 2, 3].map((a) => backoffMs(200, a)), [200, 400, 800]);
  });
  it('given 100 attempts, then no wait exceeds the cap (setTimeout waits at most 2^31 - 1 ms)', () => {
    const waits = Array.from({ length: 100 }, (_, i) => backoffMs(200, i + 1));
    assert.equal(Math.max(...waits), MAX_BACKOFF_MS);
    assert.ok(waits.every((w) => Number.isFinite(w) && w > 0 && w <= 2 ** 31 - 1));
  });
  it('given an initial backoff longer than the cap, then that backoff is waited, not less', () => {
    assert.equal(backoffMs(60_000, 7), 60_000);
  });
});
