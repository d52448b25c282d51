// The dispatch's own production cost per message, measured, for the release rule (dispatch.ts
// releasePoint): how long a tick's messages took from the tick's write to their transaction's
// commit (when an agent can read them: read_committed), less the ahead allowance that covers the
// fixed part of that path, per message. A 30,000-agent broadcast's 23,000-message release was
// readable ~1.4-1.8 s after its records on the shared 2 cores, past the 50 µs a message the knob
// allows, and 23,000 messages reached their agents after their ttl. The knob stays the floor; the
// measurement moves the release points only (when ticks are written), never what a tick sends once
// in the log, so replay decides the same.

/**
 * Releases below this many messages say little about the per-message cost: the fixed part of the
 * path (polls, the commit: 100-300 ms under load) dominates, and a 2,800-message coordination read
 * as ~100 µs a message would be released hundreds of ms early for nothing.
 */
export const MIN_SAMPLE_MESSAGES = 5000;
/** Most µs a message the measurement may allow (a stalled broker must not release a broadcast many seconds early): 30,000 x 200 µs = 6 s. */
export const MAX_MEASURED_US = 200;
/** Weight of the newest sample (EWMA). */
const ALPHA = 0.5;

export class ProductionCost {
  private ewmaUs: number | null = null;

  constructor(private readonly floorUs: number, private readonly aheadMs: number) {}

  /** A release of `messages` messages whose tick was written at `tickMs` committed at `committedMs`. */
  observe(messages: number, tickMs: number, committedMs: number): void {
    if (messages < MIN_SAMPLE_MESSAGES) return;
    const us = (Math.max(0, committedMs - tickMs - this.aheadMs) * 1000) / messages;
    this.ewmaUs = this.ewmaUs === null ? us : ALPHA * us + (1 - ALPHA) * this.ewmaUs;
  }

  /** µs per message the release rule allows: the measured cost, never below the knob; 0 when the knob is 0 (one tick per bucket). */
  perMessageUs(): number {
    if (this.floorUs === 0) return 0;
    return Math.max(this.floorUs, Math.min(MAX_MEASURED_US, Math.ceil(this.ewmaUs ?? 0)));
  }
}
