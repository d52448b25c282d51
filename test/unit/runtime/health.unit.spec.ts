import assert from 'node:assert/strict';
import { assessHealth } from '../../../services/runtime/runner';

const partition = (lag: number, p = 0) => ({ topic: 't', partition: p, position: '10', highWatermark: String(10 + lag), lag });

describe('runner health', () => {
  it('is ok while running and caught up, however long since the last record', () => {
    assert.equal(assessHealth('running', [partition(0)], 10 * 60_000, 60_000).status, 'ok');
  });

  it('is ok while lagging but still committing', () => {
    assert.equal(assessHealth('running', [partition(500)], 1_000, 60_000).status, 'ok');
  });

  it('turns unhealthy when lag exists and nothing was committed for longer than the stall timeout', () => {
    const h = assessHealth('running', [partition(0, 0), partition(3, 1)], 61_000, 60_000);
    assert.equal(h.status, 'unhealthy');
    assert.equal(h.reason, 'no progress for 61000 ms while lag exists: t[1] at offset 10, lag 3');
  });

  it('is unhealthy while stopping or stopped, so a load balancer drains it', () => {
    assert.equal(assessHealth('stopping', [], 0, 60_000).status, 'unhealthy');
    assert.equal(assessHealth('stopped', [], 0, 60_000).reason, 'runner is stopped');
  });
});
