// The seed's coordination KPIs (seed 002 §11.1) folded from QuorumDecided events, each of which
// carries its gather's counts:
//   coordination success rate  = gathers with status SUCCESS / gathers decided
//   arrival-window hit rate    = agents sent the message whose ack arrived inside the window / agents sent
//   conflict rate              = CONFLICT answers / answers inside the window ("agent responses that are -1")
// Rates over agents are pooled over the gathers (a 30,000-agent broadcast weighs more than a
// 300-agent sector). A rate with nothing to divide is null, never 0 or 1.
import type { QuorumDecided } from '../../schemas/generated/events';

export interface KpiTotals {
  readonly decisions: number;
  readonly succeeded: number;
  readonly proceeded: number;
  readonly sent: number;
  /** Agents sent the message whose ack arrived inside the window (any answer). */
  readonly answeredInWindow: number;
  readonly conflicts: number;
  /** Event time of the oldest and newest decision folded, µs; null before the first. */
  readonly fromUs: number | null;
  readonly toUs: number | null;
}

export const NO_KPIS: KpiTotals = { decisions: 0, succeeded: 0, proceeded: 0, sent: 0, answeredInWindow: 0, conflicts: 0, fromUs: null, toUs: null };

export function evolveKpis(k: KpiTotals, d: QuorumDecided): KpiTotals {
  const at = d.meta.occurred_at;
  return {
    decisions: k.decisions + 1,
    succeeded: k.succeeded + (d.gather_status === 'SUCCESS' ? 1 : 0),
    proceeded: k.proceeded + (d.decision === 'PROCEED' ? 1 : 0),
    sent: k.sent + d.sent_count,
    // silent_count counts every agent sent the message without an ack inside the window (late ones included).
    answeredInWindow: k.answeredInWindow + (d.sent_count - d.silent_count),
    conflicts: k.conflicts + d.conflict_count,
    fromUs: k.fromUs === null ? at : Math.min(k.fromUs, at),
    toUs: k.toUs === null ? at : Math.max(k.toUs, at),
  };
}

export interface Kpis {
  readonly decisions: number;
  readonly coordinationSuccessRate: number | null;
  readonly proceedRate: number | null;
  readonly arrivalWindowHitRate: number | null;
  readonly conflictRate: number | null;
  readonly fromUs: number | null;
  readonly toUs: number | null;
}

const rate = (n: number, d: number) => (d > 0 ? n / d : null);

export function kpisOf(k: KpiTotals): Kpis {
  return {
    decisions: k.decisions,
    coordinationSuccessRate: rate(k.succeeded, k.decisions),
    proceedRate: rate(k.proceeded, k.decisions),
    arrivalWindowHitRate: rate(k.answeredInWindow, k.sent),
    conflictRate: rate(k.conflicts, k.answeredInWindow),
    fromUs: k.fromUs,
    toUs: k.toUs,
  };
}

/** The seed's targets (§11.1), for the status box. */
export const KPI_TARGETS = { coordinationSuccessRate: 0.99, arrivalWindowHitRate: 0.95, conflictRate: 0.01 } as const;

export const foldKpis = (ds: Iterable<QuorumDecided>): Kpis => {
  let k = NO_KPIS;
  for (const d of ds) k = evolveKpis(k, d);
  return kpisOf(k);
};
