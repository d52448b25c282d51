// What the mesh demo must end with, from the faults it injected (pure).
import { OFFLINE_AFTER_US } from '../impedance/agent-fold';
import { WITHIN_MS } from '../impedance/accuracy';
import type { PredictionAccuracy } from '../impedance/summaries';
import type { MeshStatus } from '../impedance/status';
import { isDown, type AgentProfile, type Faults } from './generator';

export interface MeshExpectation {
  readonly total: number;
  /** Agents that must be ACTIVE at the end: not down, not slow (class F cannot degrade). */
  readonly active: number;
  /** How far the count may stray: drifting agents may cross their class's threshold or not. */
  readonly tolerance: number;
  readonly down: number;
  readonly slowDegraded: number;
}

/**
 * What the faults must do to the registry at event time `atUs`: every agent heard from (the down
 * ones die after their first period), the dead and the failing cluster OFFLINE once 30 s of event
 * time passed their last heartbeat, the slow ones (5x latency and processing: over the 2x-nominal
 * threshold) DEGRADED unless human (class F scores sit at the cap). Drifting agents (latency
 * spread 0.8) add about 0.8 L to the score, which puts some over the threshold: they are the
 * tolerance, plus 0.2 % of the mesh for healthy agents at the top of their class's latency range
 * whose jitter and queue cross it now and then. (A 30,000-agent run under load 15 ended at 29,871
 * active for an expected 29,882: 60 down, 58 slow and degraded.)
 */
export function expectedStatus(mesh: readonly AgentProfile[], f: Faults, startUs: number, atUs: number): MeshExpectation {
  // A down agent's last heartbeat is that of its last live period; offline 30 s of event time later.
  const lastUs = (a: AgentProfile) => startUs + (f.diesAfterPeriods - 1) * 5_000_000 + a.phaseUs;
  const offline = (a: AgentProfile) => isDown(a, f) && lastUs(a) + OFFLINE_AFTER_US <= atUs;
  // With diesAfterPeriods 0 the down agents are never heard from: not in the registry at all.
  const heard = f.diesAfterPeriods > 0 ? mesh : mesh.filter((a) => !isDown(a, f));
  const down = heard.filter(offline).length;
  const slowDegraded = heard.filter((a) => !offline(a) && f.slow.has(a.agentId) && a.agentClass !== 'CLASS_F_HUMAN').length;
  const drifting = heard.filter((a) => !offline(a) && !f.slow.has(a.agentId) && f.drifting.has(a.agentId)).length;
  return { total: heard.length, active: heard.length - down - slowDegraded, tolerance: drifting + Math.ceil(mesh.length * 0.002), down, slowDegraded };
}

export interface MeshDemoResult {
  readonly status: MeshStatus;
  readonly expected: MeshExpectation;
  /** Requests the demo's orchestrator sent, and the acks the service measured. */
  readonly coordination: { readonly requests: number; readonly accuracy: PredictionAccuracy };
  /** What the run's finale printed (make demo: a scatter-gather decision and the KPIs). */
  readonly finale?: readonly string[];
}

/** Throws unless the final status matches what the faults must produce. */
export function checkMeshDemo({ status, expected, coordination }: MeshDemoResult): string {
  const { requests, accuracy: acc } = coordination;
  const kpi = acc.samples === 0 ? 'no acks measured'
    : `${acc.samples} acks measured, ${(100 * acc.within50ms / acc.samples).toFixed(1)}% within ${WITHIN_MS} ms of the predicted arrival (seed KPI 90%), p90 error ≤ ${acc.p90ErrorMs} ms, ${acc.conflicts} CONFLICT`;
  const summary = `${status.active} of ${status.total} active; expected ${expected.active} ± ${expected.tolerance} of ${expected.total} (${expected.down} down, ${expected.slowDegraded} slow degraded); ${requests} coordination requests: ${kpi}`;
  if (status.total !== expected.total) throw new Error(`mesh demo: ${status.total} agents in the registry, expected ${expected.total}: ${summary}`);
  if (Math.abs(status.active - expected.active) > expected.tolerance) throw new Error(`mesh demo: ${summary}`);
  // The simulator answers every scheduled agent that is up: requests without a single measured ack mean the loop is broken.
  if (requests >= 2 && acc.samples === 0) throw new Error(`mesh demo: ${summary}`);
  return summary;
}
