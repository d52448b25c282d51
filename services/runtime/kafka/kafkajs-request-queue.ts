// kafkajs 2.2.4's request queue schedules its next look at pending requests after
// `throttledUntil - Date.now()` ms. Unthrottled, throttledUntil is -1, so that is about
// -Date.now() (Node 24 prints TimeoutNegativeWarning and fires after 1 ms), and each look
// schedules the next: a 1 ms timer loop per broker connection for the connection's whole life,
// with nothing pending (tulios/kafkajs#1704, #1751; unfixed upstream). Patched once, where every
// kafkajs client's config is made: a look is scheduled only for pending requests, after the
// throttle if one is in force, else after kafkajs's own 10 ms. A request that can go at once is
// sent by push(), and every response looks at the queue again, so nothing waits longer.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const RequestQueue = require('kafkajs/src/network/requestQueue') as { prototype: QueueInternals };

interface QueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

RequestQueue.prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: QueueInternals): void {
  if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
  const throttled = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, throttled > 0 ? throttled : CHECK_PENDING_REQUESTS_INTERVAL_MS);
};
