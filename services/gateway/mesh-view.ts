// What the live page shows of the mesh: the latest impedance summary per (sector, cluster), the
// operational mode, the breakers OPEN now (their agents are not routable: seed 002 §6.2), and the
// most recent conflicts. A fold of mesh.summaries, mesh.circuits and
// mesh.conflicts; pure apart from holding its state.
import type { EventType, SolvermeshEvent } from '../../schemas/generated/events';
import { unreachable } from '../runtime/errors';
import { isOneOf } from '../runtime/processor';

export interface MeshSnapshot {
  readonly clusters: ReadonlyArray<{ sector_id: string; cluster_id: string; mean_impedance: number; p95_impedance: number; agent_count: number; active_count: number }>;
  readonly mode: { mode: string; description: string; active_rate: number } | null;
  /** Breakers OPEN now: their clusters, sectors (or the whole mesh) are left out of routing. */
  readonly open_circuits: ReadonlyArray<{ scope: string; scope_id: string; since: string; reason: string }>;
  readonly conflicts: ReadonlyArray<{ conflict_id: string; agent_id: string; sector_id: string | null; cluster_id: string | null; conflict_type: string; at: string }>;
}

const KEEP_CONFLICTS = 50;

/** The events shown and the topic each is shown from (a type on another topic is someone else's). */
const SHOWN_FROM = {
  ClusterSummarized: 'mesh.summaries',
  OperationalModeChanged: 'mesh.circuits',
  CircuitStateChanged: 'mesh.circuits',
  ConflictReported: 'mesh.conflicts',
} as const satisfies Partial<Record<EventType, string>>;
const isShown = isOneOf(Object.keys(SHOWN_FROM) as Array<keyof typeof SHOWN_FROM>);

export class MeshView {
  private readonly clusters = new Map<string, MeshSnapshot['clusters'][number]>();
  private mode: MeshSnapshot['mode'] = null;
  private readonly open = new Map<string, MeshSnapshot['open_circuits'][number]>();
  private readonly conflicts: Array<MeshSnapshot['conflicts'][number]> = [];

  onEvent(topic: string, e: SolvermeshEvent): void {
    if (!isShown(e) || SHOWN_FROM[e.type] !== topic) return;
    switch (e.type) {
      case 'ClusterSummarized':
        this.clusters.set(`${e.sector_id}/${e.cluster_id}`, {
          sector_id: e.sector_id, cluster_id: e.cluster_id, mean_impedance: e.mean_impedance, p95_impedance: e.p95_impedance, agent_count: e.agent_count, active_count: e.active_count,
        });
        return;
      case 'OperationalModeChanged':
        this.mode = { mode: e.new_mode, description: e.description, active_rate: e.active_rate };
        return;
      case 'CircuitStateChanged': {
        const key = `${e.scope}:${e.scope_id}`;
        if (e.new_state === 'OPEN') this.open.set(key, { scope: e.scope, scope_id: e.scope_id, since: new Date(Number(e.meta.occurred_at) / 1000).toISOString(), reason: e.reason });
        else this.open.delete(key);
        return;
      }
      case 'ConflictReported':
        this.conflicts.push({ conflict_id: e.conflict_id, agent_id: e.agent_id, sector_id: e.sector_id, cluster_id: e.cluster_id, conflict_type: e.detail.conflict_type, at: new Date(Number(e.meta.occurred_at) / 1000).toISOString() });
        if (this.conflicts.length > KEEP_CONFLICTS) this.conflicts.shift();
        return;
      default:
        return unreachable(e);
    }
  }

  snapshot(): MeshSnapshot {
    const open = [...this.open.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
    return { clusters: [...this.clusters.values()], mode: this.mode, open_circuits: open, conflicts: [...this.conflicts].reverse() };
  }
}
