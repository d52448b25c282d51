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
import type { QuorumDecision, RetryAdvice } from '../../schemas/generated/events';

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
  const enoughReady = readyRate >= t.requiredReadyRate;
  const conflictsAcceptable = conflictRate <= t.maxConflictRate;
  if (enoughReady && conflictsAcceptable) {
    return { decision: 'PROCEED', achieved: true, confidence: readyRate - conflictRate * 0.5, reason: null, recommendation: null };
  }
  if (!enoughReady && transitRate > t.maxTransitRate) {
    return { decision: 'WAIT', achieved: false, confidence: null, reason: `Too many agents still in transit (${pct(transitRate)})`, recommendation: 'Extend arrival window' };
  }
  if (!conflictsAcceptable) {
    return { decision: 'RESOLVE_CONFLICTS', achieved: false, confidence: null, reason: `Conflict rate ${pct(conflictRate)} exceeds threshold`, recommendation: 'Run conflict resolution before proceeding' };
  }
  return { decision: 'RETRY', achieved: false, confidence: null, reason: `Insufficient ready agents (${pct(readyRate)})`, recommendation: 'Retry with adjusted impedance compensation' };
}

export interface GatherVerdict {
  readonly status: 'SUCCESS' | 'PARTIAL';
  readonly responseRate: number;
  /** sent - ready - conflict: no READY or CONFLICT answer in the window (seed 002 §3.2). */
  readonly stragglers: number;
}

export function gatherVerdict(sent: number, c: TrinaryCounts, minimumResponseRate: number): GatherVerdict {
  const responseRate = sent === 0 ? 0 : c.ready / sent;
  return { status: sent > 0 && responseRate >= minimumResponseRate ? 'SUCCESS' : 'PARTIAL', responseRate, stragglers: sent - c.ready - c.conflict };
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
