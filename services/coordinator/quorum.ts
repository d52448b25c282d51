// Trinary quorum (seed 002 §5.2 trinary_quorum_check) and the scatter-gather verdict (§3.2
// phase 6), as functions of counts. Pure.
//
//   ready_rate = ready / total, conflict_rate = conflict / total, transit_rate = transit / total
//   PROCEED            ready_rate >= required_ready_rate and conflict_rate <= max_conflict_rate
//                      (confidence = ready_rate - 0.5 * conflict_rate)
//   WAIT               else if ready_rate < required_ready_rate and transit_rate > max_transit_rate
//   RESOLVE_CONFLICTS  else if conflict_rate > max_conflict_rate
//   RETRY              otherwise
//   gather: SUCCESS when ready / sent >= minimum_response_rate, else PARTIAL
import type { GatherStatus, QuorumDecision, RetryAdvice } from '../../schemas/generated/events';

export interface QuorumThresholds {
  readonly requiredReadyRate: number;
  readonly maxConflictRate: number;
  readonly maxTransitRate: number;
}

export const SEED_THRESHOLDS: QuorumThresholds = { requiredReadyRate: 0.95, maxConflictRate: 0.05, maxTransitRate: 0.10 };

export interface TrinaryCounts {
  readonly ready: number;
  readonly conflict: number;
  readonly transit: number;
}

export interface QuorumResult {
  readonly decision: QuorumDecision;
  readonly achieved: boolean;
  readonly confidence: number | null;
  readonly reason: string | null;
  readonly recommendation: string | null;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function trinaryQuorum(c: TrinaryCounts, t: QuorumThresholds = SEED_THRESHOLDS): QuorumResult {
  const total = c.ready + c.conflict + c.transit;
  if (total === 0) {
    return { decision: 'RETRY', achieved: false, confidence: null, reason: 'No agent was sent the message', recommendation: 'Retry with adjusted impedance compensation' };
  }
  const readyRate = c.ready / total;
  const conflictRate = c.conflict / total;
  const transitRate = c.transit / total;
  const decision = decisionOf(enoughReady(c.ready, total, t), conflictsAcceptable(c.conflict, total, t), tooManyInTransit(c.transit, total, t));
  switch (decision) {
    case 'PROCEED':
      return { decision: 'PROCEED', achieved: true, confidence: readyRate - conflictRate * 0.5, reason: null, recommendation: null };
    case 'WAIT':
      return { decision: 'WAIT', achieved: false, confidence: null, reason: `Too many agents still in transit (${pct(transitRate)})`, recommendation: 'Extend arrival window' };
    case 'RESOLVE_CONFLICTS':
      return { decision: 'RESOLVE_CONFLICTS', achieved: false, confidence: null, reason: `Conflict rate ${pct(conflictRate)} exceeds threshold`, recommendation: 'Run conflict resolution before proceeding' };
    case 'RETRY':
      return { decision: 'RETRY', achieved: false, confidence: null, reason: `Insufficient ready agents (${pct(readyRate)})`, recommendation: 'Retry with adjusted impedance compensation' };
    default: { const never: never = decision; return never; }
  }
}

// The three tests of the quorum, each monotone in its count (total fixed): the early decision
// below searches them for the count where they turn, so both use the same floating-point rates.
const enoughReady = (ready: number, total: number, t: QuorumThresholds) => ready / total >= t.requiredReadyRate;
const conflictsAcceptable = (conflict: number, total: number, t: QuorumThresholds) => conflict / total <= t.maxConflictRate;
const tooManyInTransit = (transit: number, total: number, t: QuorumThresholds) => transit / total > t.maxTransitRate;

function decisionOf(enough: boolean, acceptable: boolean, inTransit: boolean): QuorumDecision {
  if (enough && acceptable) return 'PROCEED';
  if (!enough && inTransit) return 'WAIT';
  if (!acceptable) return 'RESOLVE_CONFLICTS';
  return 'RETRY';
}

export interface GatherVerdict {
  readonly status: 'SUCCESS' | 'PARTIAL';
  readonly responseRate: number;
  /** sent - ready - conflict: no READY or CONFLICT answer in the window (seed 002 §3.2). */
  readonly stragglers: number;
}

export function gatherVerdict(sent: number, c: TrinaryCounts, minimumResponseRate: number): GatherVerdict {
  const responseRate = sent === 0 ? 0 : c.ready / sent;
  return { status: gatherStatus(sent, c.ready, minimumResponseRate), responseRate, stragglers: sent - c.ready - c.conflict };
}

const gatherStatus = (sent: number, ready: number, minimumResponseRate: number): GatherStatus =>
  sent > 0 && ready / sent >= minimumResponseRate ? 'SUCCESS' : 'PARTIAL';

/** The smallest k in [0, n] where the monotone `turned(k)` holds; n + 1 when it never does. */
function firstTurn(n: number, turned: (k: number) => boolean): number {
  let lo = 0, hi = n + 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (turned(mid)) hi = mid; else lo = mid + 1;
  }
  return lo;
}

/**
 * The decision and gather status of a gather with `unsettled` of its `sent` agents still to give
 * their first answer, when no answers they could give (READY, TRANSIT, CONFLICT, or none, which
 * counts as TRANSIT; a late answer is TRANSIT too) would change either; null while one could.
 * `settled` counts the others (sent = ready + conflict + transit + unsettled). Pure.
 *
 * With a of the unsettled answering READY and b CONFLICT (a, b >= 0, a + b <= unsettled), each
 * test of the quorum turns at one count: enough READY from a >= aTurn, conflicts acceptable while
 * b < bTurn, too many in transit while a + b < kTurn. A combination of the three tests is
 * reachable when its ranges of a, b and a + b meet; the decision is final when every reachable
 * combination decides alike. The status only depends on READY: its two ends decide it.
 */
export function finalOutcome(sent: number, settled: TrinaryCounts, unsettled: number, minimumResponseRate: number, t: QuorumThresholds = SEED_THRESHOLDS): { readonly decision: QuorumDecision; readonly status: GatherStatus } | null {
  const u = unsettled;
  const status = gatherStatus(sent, settled.ready, minimumResponseRate);
  if (status !== gatherStatus(sent, settled.ready + u, minimumResponseRate)) return null;
  if (sent === 0) return { decision: trinaryQuorum(settled, t).decision, status };
  const aTurn = firstTurn(u, (a) => enoughReady(settled.ready + a, sent, t));
  const bTurn = firstTurn(u, (b) => !conflictsAcceptable(settled.conflict + b, sent, t));
  const kTurn = firstTurn(u, (k) => !tooManyInTransit(settled.transit + u - k, sent, t));
  let decision: QuorumDecision | null = null;
  for (const enough of [true, false]) {
    for (const acceptable of [true, false]) {
      for (const inTransit of [true, false]) {
        const [aLo, aHi] = enough ? [aTurn, u] : [0, aTurn - 1];
        const [bLo, bHi] = acceptable ? [0, bTurn - 1] : [bTurn, u];
        const [kLo, kHi] = inTransit ? [0, kTurn - 1] : [kTurn, u];
        if (aLo > aHi || bLo > bHi || Math.max(aLo + bLo, kLo) > Math.min(aHi + bHi, kHi)) continue;
        const d = decisionOf(enough, acceptable, inTransit);
        if (decision !== null && d !== decision) return null;
        decision = d;
      }
    }
  }
  return decision === null ? null : { decision, status };
}

/** What a retry should change; null when nothing needs retrying. */
export function retryAdvice(q: QuorumResult, g: GatherVerdict): RetryAdvice | null {
  switch (q.decision) {
    case 'PROCEED': return g.status === 'SUCCESS' ? null : 'RETRY_WITH_LARGER_WINDOW';
    case 'WAIT': return 'EXTEND_WINDOW';
    case 'RESOLVE_CONFLICTS': return 'RESOLVE_CONFLICTS_FIRST';
    case 'RETRY': return 'ADJUST_COMPENSATION';
    default: { const never: never = q.decision; return never; }
  }
}
