// kafkajs 2.2.4 scheduled a look at its request queue after -Date.now() ms whenever nothing
// throttled it, and each look scheduled the next: a 1 ms timer loop per connection
// (TimeoutNegativeWarning on Node 24). Loading the runtime's kafkajs settings patches it.
import { strict as assert } from 'node:assert';
import '../../../services/runtime/credentials';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const RequestQueue = require('kafkajs/src/network/requestQueue') as { prototype: object };

interface Queue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checks: number;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

function queue(pending: unknown[], throttledUntil: number): Queue {
  const q = Object.create(RequestQueue.prototype) as Queue;
  Object.assign(q, { pending, throttledUntil, throttleCheckTimeoutId: null, checks: 0 });
  q.checkPendingRequests = () => { q.checks++; };
  return q;
}

describe('kafkajs request queue (patched)', () => {
  it('given nothing pending and no throttle, when the queue schedules its next look, then no timer is set', () => {
    const q = queue([], -1);
    q.scheduleCheckPendingRequests();
    assert.equal(q.throttleCheckTimeoutId, null);
  });

  it('given a pending request and no throttle, then it is looked at again after 10 ms, once', async () => {
    const q = queue([{}], -1);
    q.scheduleCheckPendingRequests();
    assert.notEqual(q.throttleCheckTimeoutId, null);
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(q.checks, 1);
    assert.equal(q.throttleCheckTimeoutId, null);
  });

  it('given a pending request under a throttle, then it is looked at when the throttle ends, not before', async () => {
    const q = queue([{}], Date.now() + 60);
    q.scheduleCheckPendingRequests();
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(q.checks, 0);
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(q.checks, 1);
  });
});
