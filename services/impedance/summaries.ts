// Cluster, sector and mesh summaries (seed 002 §4.2 ClusterLeadAggregator.get_cluster_summary,
// §4.3 GlobalImpedanceMap), computed from registry snapshots at an event-time tick. Pure: the
// service calls it with what it read of the registry, the summary replay (summary-replay.ts) with
// the agents refolded to the positions the summaries name.
import type {
  AgentOperationalState, ClusterSummarized, MeshSummarized, OperationalMode, SectorSummarized, SummaryPosition,
} from '../../schemas/generated/events';
import { derivedEventId } from '../runtime/ids';
import { OFFLINE_AFTER_US, PRODUCER } from './agent-fold';
import { DEGRADED_SCORE, UNSTABLE_DRIFT, p95 } from './score';

/** What a summary needs of one agent (the compact registry entry). */
export interface AgentSnapshot {
  readonly agentId: string;
  readonly clusterId: string;
  readonly sectorId: string;
  readonly score: number;
  readonly state: AgentOperationalState;
  readonly lastHeartbeatAt: number;
  readonly drift: number;
}

export interface PredictionAccuracy {
  readonly samples: number;
  readonly within50ms: number;
  readonly p90ErrorMs: number | null;
  readonly conflicts: number;
}

export const NO_ACCURACY: PredictionAccuracy = { samples: 0, within50ms: 0, p90ErrorMs: null, conflicts: 0 };

/** The state as of `atUs`: an agent silent for 30 s is offline even before its owner's timer fired. */
export function stateAt(a: AgentSnapshot, atUs: number): AgentOperationalState {
  if (a.state !== 'QUARANTINED' && a.lastHeartbeatAt + OFFLINE_AFTER_US <= atUs) return 'OFFLINE';
  return a.state;
}

const byAgentId = (x: AgentSnapshot, y: AgentSnapshot) => (x.agentId < y.agentId ? -1 : x.agentId > y.agentId ? 1 : 0);

const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);

export interface Summaries {
  readonly clusters: ClusterSummarized[];
  readonly sectors: SectorSummarized[];
  readonly mesh: MeshSummarized;
}

/**
 * `positions`: per heartbeat partition, the fold position the agents are as of (read with them);
 * every summary names them. Null: not known (each summary says so).
 */
export function summarize(agents: readonly AgentSnapshot[], atUs: number, accuracy: PredictionAccuracy = NO_ACCURACY, positions: readonly SummaryPosition[] | null = null): Summaries {
  // One array per event: the codec may hold on to what it is given.
  const at = () => (positions === null ? null : positions.map((p) => ({ ...p })));
  const cause = `summary:${atUs}`;
  const meta = (scope: string) => ({
    event_id: derivedEventId(cause, scope), correlation_id: scope, causation_id: null, occurred_at: atUs, producer: PRODUCER, sequence: null,
  });
  const byCluster = new Map<string, AgentSnapshot[]>();
  for (const a of agents) {
    let list = byCluster.get(a.clusterId);
    if (!list) { list = []; byCluster.set(a.clusterId, list); }
    list.push(a);
  }
  const clusters: ClusterSummarized[] = [];
  for (const id of [...byCluster.keys()].sort()) {
    // Each cluster's agents by id (ties of slowest and fastest go to the first): sorting each
    // cluster costs a fraction of sorting the whole mesh.
    const list = byCluster.get(id)!.sort(byAgentId);
    const scores = new Array<number>(list.length);
    let slowest = list[0]!;
    let fastest = list[0]!;
    let active = 0;
    let degraded = 0;
    let unstable = 0;
    // One pass for what took a map and three filters (an array each).
    for (let i = 0; i < list.length; i++) {
      const a = list[i]!;
      scores[i] = a.score;
      if (a.score > slowest.score) slowest = a;
      if (a.score < fastest.score) fastest = a;
      if (stateAt(a, atUs) === 'ACTIVE') active++;
      if (a.score > DEGRADED_SCORE) degraded++;
      if (a.drift > UNSTABLE_DRIFT) unstable++;
    }
    clusters.push({
      type: 'ClusterSummarized',
      meta: meta(`cluster:${id}`),
      cluster_id: id,
      // A cluster's agents share a sector; the first (by id) names it.
      sector_id: list[0]!.sectorId,
      agent_count: list.length,
      active_count: active,
      degraded_count: degraded,
      unstable_count: unstable,
      mean_impedance: mean(scores),
      p95_impedance: p95(scores),
      slowest_agent_id: slowest.agentId,
      fastest_agent_id: fastest.agentId,
      registry_positions: at(),
    });
  }
  const bySector = new Map<string, ClusterSummarized[]>();
  for (const c of clusters) {
    let list = bySector.get(c.sector_id);
    if (!list) { list = []; bySector.set(c.sector_id, list); }
    list.push(c);
  }
  const sectors: SectorSummarized[] = [];
  for (const id of [...bySector.keys()].sort()) {
    const list = bySector.get(id)!;
    let healthiest = list[0]!;
    let sickest = list[0]!;
    for (const c of list) {
      if (c.mean_impedance < healthiest.mean_impedance) healthiest = c;
      if (c.mean_impedance > sickest.mean_impedance) sickest = c;
    }
    sectors.push({
      type: 'SectorSummarized',
      meta: meta(`sector:${id}`),
      sector_id: id,
      cluster_count: list.length,
      total_agents: list.reduce((s, c) => s + c.agent_count, 0),
      active_agents: list.reduce((s, c) => s + c.active_count, 0),
      mean_impedance: mean(list.map((c) => c.mean_impedance)),
      healthiest_cluster_id: healthiest.cluster_id,
      sickest_cluster_id: sickest.cluster_id,
      registry_positions: at(),
    });
  }
  const total = clusters.reduce((s, c) => s + c.agent_count, 0);
  const active = clusters.reduce((s, c) => s + c.active_count, 0);
  const healthy = sectors.filter((s) => s.total_agents > 0 && s.active_agents / s.total_agents > 0.95).length;
  const mesh: MeshSummarized = {
    type: 'MeshSummarized',
    meta: meta('mesh'),
    total_agents: total,
    active_agents: active,
    active_rate: total === 0 ? 0 : active / total,
    global_mean_impedance: mean(clusters.map((c) => c.mean_impedance)),
    global_p95_impedance: p95(clusters.map((c) => c.p95_impedance)),
    sectors_healthy: healthy,
    sectors_degraded: sectors.length - healthy,
    prediction_samples: accuracy.samples,
    prediction_within_50ms: accuracy.within50ms,
    prediction_hit_rate: accuracy.samples === 0 ? null : accuracy.within50ms / accuracy.samples,
    prediction_p90_error_ms: accuracy.samples === 0 ? null : accuracy.p90ErrorMs,
    conflicts_last_hour: accuracy.conflicts,
    registry_positions: at(),
  };
  return { clusters, sectors, mesh };
}

/** Seed 002 §6.3 determine_operational_mode. */
export function operationalMode(activeRate: number): OperationalMode {
  if (activeRate >= 0.95) return 'FULL';
  if (activeRate >= 0.8) return 'DEGRADED_LIGHT';
  if (activeRate >= 0.6) return 'DEGRADED_MODERATE';
  if (activeRate >= 0.3) return 'DEGRADED_SEVERE';
  return 'EMERGENCY';
}
