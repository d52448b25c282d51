// The dispatch's own production cost, measured, for the release rule (dispatch.ts releasePoint):
// how long a tick's messages took from the tick's write to their transaction's commit (when an
// agent can read them: read_committed). Small releases measure the fixed part of that path (the
// ahead allowance, never below its knob); large ones the cost per message beyond it. A 30,000-agent broadcast's 23,000-message release was
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
/**
 * Most ms the measured fixed part may write a tick ahead of its bucket. Honest agents (their
 * message's travel counted from its record) put the path's lateness into every arrival: at load
 * 15-20 a 100 ms allowance left a sector's messages readable 186 ms (p50) after their send time
 * and its last ack past the window.
 */
export const MAX_MEASURED_AHEAD_MS = 500;
/** Weight of the newest small release in the fixed part (EWMA): one tick per bucket gives many samples. */
const AHEAD_ALPHA = 0.2;

export class ProductionCost {
  private ewmaUs: number | null = null;
  private pathMs: number | null = null;

  constructor(private readonly floorUs: number, private readonly floorAheadMs: number) {}

  /**
   * A release of `messages` messages whose tick was written at `tickMs` committed at `committedMs`:
   * a small one is a sample of the fixed part of the path, a large one of the cost per message
   * beyond it.
   */
  observe(messages: number, tickMs: number, committedMs: number): void {
    if (this.floorUs === 0) return;
    if (messages < MIN_SAMPLE_MESSAGES) {
      const ms = Math.max(0, committedMs - tickMs);
      this.pathMs = this.pathMs === null ? ms : AHEAD_ALPHA * ms + (1 - AHEAD_ALPHA) * this.pathMs;
      return;
    }
    const us = (Math.max(0, committedMs - tickMs - this.aheadMs()) * 1000) / messages;
    this.ewmaUs = this.ewmaUs === null ? us : ALPHA * us + (1 - ALPHA) * this.ewmaUs;
  }

  /** How long before its bucket a tick is written: the measured fixed part of the path, never below the knob; the knob when the per-message knob is 0. */
  aheadMs(): number {
    return Math.max(this.floorAheadMs, Math.min(MAX_MEASURED_AHEAD_MS, Math.ceil(this.pathMs ?? 0)));
  }

  /** µs per message the release rule allows: the measured cost, never below the knob; 0 when the knob is 0 (one tick per bucket). */
  perMessageUs(): number {
    if (this.floorUs === 0) return 0;
    return Math.max(this.floorUs, Math.min(MAX_MEASURED_US, Math.ceil(this.ewmaUs ?? 0)));
  }
}
