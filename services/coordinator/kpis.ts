// The seed's coordination KPIs (seed 002 §11.1) folded from QuorumDecided events, each of which
// carries its gather's counts:
//   coordination success rate  = gathers with status SUCCESS / gathers decided
//   arrival-window hit rate    = agents sent the message whose ack arrived inside the window / agents sent
//   conflict rate              = CONFLICT answers / answers inside the window ("agent responses that are -1")
// Rates over agents are pooled over the gathers (a 30,000-agent broadcast weighs more than a
// 300-agent sector). A rate with nothing to divide is null, never 0 or 1.
// Below: cascade latency p95 from CascadeCompleted, mesh availability from MeshSummarized.
import type { CascadeCompleted, MeshSummarized, QuorumDecided } from '../../schemas/generated/events';
import { decidedEarly } from './gather';

export interface KpiTotals {
  readonly decisions: number;
  readonly succeeded: number;
  readonly proceeded: number;
  /** Agents sent the message the hit rate is judged over: an early decision's unsettled ones are left out. */
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
    // An early decision counts its unsettled agents as silent, yet they may still answer in the
    // window: the hit rate is judged over the agents settled when it decided.
    sent: k.sent + d.sent_count - (decidedEarly(d) ? d.unsettled_count! : 0),
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

/** Nearest rank: the smallest value with at least p% of the values at or below it. */
export function nearestRank(xs: readonly number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length))) - 1]!;
}

/** §11.1 cascade_latency_p95: "95th percentile time for mesh-wide cascade", target <= 1000 ms, per cascade operation. */
export const CASCADE_LATENCY_TARGET_MS = 1000;

export interface CascadeKpis {
  readonly cascades: number;
  readonly latencyP95Ms: number | null;
  /** Cascades that ended within the target. */
  readonly withinTarget: number;
  /** The newest by event time. */
  readonly last: CascadeCompleted | null;
}

export function cascadeKpis(cs: readonly CascadeCompleted[]): CascadeKpis {
  const ms = cs.map((c) => c.latency_us / 1000);
  const last = cs.reduce<CascadeCompleted | null>((a, c) => (a === null || c.meta.occurred_at >= a.meta.occurred_at ? c : a), null);
  return { cascades: cs.length, latencyP95Ms: nearestRank(ms, 95), withinTarget: ms.filter((x) => x <= CASCADE_LATENCY_TARGET_MS).length, last };
}

/** §11.1 mesh_availability: "percentage of time >= 95% of agents are active", target >= 99.9%. */
export const AVAILABILITY = { activeRate: 0.95, target: 0.999 } as const;

export interface Availability {
  /** Share of the span covered by summaries at which the active rate was >= 95%; null under two summaries. */
  readonly rate: number | null;
  readonly fromUs: number | null;
  readonly toUs: number | null;
  readonly summaries: number;
}

/**
 * Time-weighted over the mesh's summaries in event time: the active rate a summary reports holds
 * until the next one, so each interval between consecutive summaries counts as available when its
 * first summary said >= 95% active.
 */
export function meshAvailability(ss: readonly MeshSummarized[]): Availability {
  const s = [...ss].sort((a, b) => a.meta.occurred_at - b.meta.occurred_at);
  let up = 0;
  for (let i = 0; i + 1 < s.length; i++) {
    if (s[i]!.active_rate >= AVAILABILITY.activeRate) up += s[i + 1]!.meta.occurred_at - s[i]!.meta.occurred_at;
  }
  const fromUs = s[0]?.meta.occurred_at ?? null;
  const toUs = s.at(-1)?.meta.occurred_at ?? null;
  const span = fromUs === null || toUs === null ? 0 : toUs - fromUs;
  return { rate: span > 0 ? up / span : null, fromUs, toUs, summaries: s.length };
}
