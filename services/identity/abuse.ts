// Abuse detection on an agent's heartbeats (seed 002 §9.2): denial_of_service ("message rate
// exceeds 10x baseline" -> rate limiting) and timing_attack (manipulated timing). Per agent, in
// the event time of its own heartbeats, in partition order. Pure.
//
// Rate: event time is cut into RATE_WINDOW_US windows. The agent's baseline starts at the seed's
// one heartbeat per 5 s (§4.1) and follows the rate of each window it closed without being
// throttled (EWMA, BASELINE_ALPHA), so a flood never raises its own limit. Inside a window, the
// heartbeats beyond floor(RATE_FACTOR * baseline * window) are throttled: not applied, dead-lettered.
// Timing (§9.2 timing_attack, "manipulating impedance measurements"): a heartbeat dated before
// the agent's previous one (a monotonic clock never goes back), or received before it was sent
// (received_at < occurred_at, an impossible latency), is reported; at most once per agent per window.

export const RATE_FACTOR = 10;
export const RATE_WINDOW_US = 30_000_000;
/** Heartbeats per second of a well-behaved agent (seed 002 §4.1: every 5 s). */
export const SEED_RATE_PER_S = 0.2;
export const BASELINE_ALPHA = 0.2;

export interface SenderRate {
  /** Start of the current window, µs. */
  readonly windowStart: number;
  /** Heartbeats applied in it. */
  readonly count: number;
  readonly throttled: number;
  /** Heartbeats per second. */
  readonly baseline: number;
  /** The window in which the last timing anomaly was reported. */
  readonly timingReportedIn: number | null;
  /** Event time of the agent's latest heartbeat, µs. */
  readonly lastAt: number;
}

export const limitOf = (baselinePerS: number) => Math.floor(RATE_FACTOR * baselinePerS * (RATE_WINDOW_US / 1e6));

export type RateDecision =
  | { readonly kind: 'accept' }
  /** `first`: the first throttled heartbeat of the window (report it once). */
  | { readonly kind: 'throttle'; readonly first: boolean; readonly limit: number; readonly baseline: number };

export interface AbuseStep {
  readonly state: SenderRate;
  readonly rate: RateDecision;
  /** Set when the heartbeat's timing is anomalous and not reported yet in this window. */
  readonly timing?: TimingAnomaly;
}

export function windowOf(atUs: number): number {
  return Math.floor(atUs / RATE_WINDOW_US) * RATE_WINDOW_US;
}

export interface TimingAnomaly {
  readonly kind: 'BACKDATED' | 'RECEIVED_BEFORE_SENT';
  /** How far back, µs (> 0). */
  readonly byUs: number;
}

function timingOf(prev: SenderRate | undefined, atUs: number, receivedAtUs: number): TimingAnomaly | undefined {
  if (prev && atUs < prev.lastAt) return { kind: 'BACKDATED', byUs: prev.lastAt - atUs };
  if (receivedAtUs < atUs) return { kind: 'RECEIVED_BEFORE_SENT', byUs: atUs - receivedAtUs };
  return undefined;
}

/** One heartbeat of the agent dated `atUs` (occurred_at) and received at `receivedAtUs` (received_at). */
export function stepAbuse(prev: SenderRate | undefined, atUs: number, receivedAtUs: number): AbuseStep {
  const w = windowOf(atUs);
  let s: SenderRate = prev ?? { windowStart: w, count: 0, throttled: 0, baseline: SEED_RATE_PER_S, timingReportedIn: null, lastAt: atUs };
  // Late heartbeats (an older window) count in the current one: the agent sent them now.
  if (w > s.windowStart) s = { ...s, windowStart: w, count: 0, throttled: 0, baseline: closedBaseline(s) };
  const found = timingOf(prev, atUs, receivedAtUs);
  const timing = found && s.timingReportedIn !== s.windowStart ? found : undefined;
  s = { ...s, lastAt: Math.max(s.lastAt, atUs), ...(timing ? { timingReportedIn: s.windowStart } : {}) };
  const limit = limitOf(s.baseline);
  const out = (rate: RateDecision, state: SenderRate): AbuseStep => (timing ? { state, rate, timing } : { state, rate });
  if (s.count < limit) return out({ kind: 'accept' }, { ...s, count: s.count + 1 });
  return out({ kind: 'throttle', first: s.throttled === 0, limit, baseline: s.baseline }, { ...s, throttled: s.throttled + 1 });
}

/** The baseline after a window: unchanged by a throttled window. */
function closedBaseline(s: SenderRate): number {
  if (s.throttled > 0) return s.baseline;
  const observed = s.count / (RATE_WINDOW_US / 1e6);
  return Math.max(SEED_RATE_PER_S, (1 - BASELINE_ALPHA) * s.baseline + BASELINE_ALPHA * observed);
}

/** Messages refused that only the sender's own key could have signed (ForgeryEvidence.own_key) that quarantine it within impedance's offence window (seed 002 §6.1's 3 consecutive failures). */
export const OWN_KEY_FORGERY_LIMIT = 3;
