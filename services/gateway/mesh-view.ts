// What the live page shows of the mesh: the latest impedance summary per (sector, cluster), the
// operational mode, and the most recent conflicts. A fold of mesh.summaries, mesh.circuits and
// mesh.conflicts; pure apart from holding its state.
import type { ClusterSummarized, ConflictReported, OperationalModeChanged } from '../../schemas/generated/events';
import type { DecodedEvent } from '../runtime/codec';

export interface MeshSnapshot {
  readonly clusters: ReadonlyArray<{ sector_id: string; cluster_id: string; mean_impedance: number; p95_impedance: number; agent_count: number; active_count: number }>;
  readonly mode: { mode: string; description: string; active_rate: number } | null;
  readonly conflicts: ReadonlyArray<{ conflict_id: string; agent_id: string; sector_id: string | null; cluster_id: string | null; conflict_type: string; at: string }>;
}

const KEEP_CONFLICTS = 50;

export class MeshView {
  private readonly clusters = new Map<string, MeshSnapshot['clusters'][number]>();
  private mode: MeshSnapshot['mode'] = null;
  private readonly conflicts: Array<MeshSnapshot['conflicts'][number]> = [];

  onEvent(topic: string, e: DecodedEvent): void {
    if (topic === 'mesh.summaries' && e.type === 'ClusterSummarized') {
      const c = e as unknown as ClusterSummarized;
      this.clusters.set(`${c.sector_id}/${c.cluster_id}`, {
        sector_id: c.sector_id, cluster_id: c.cluster_id, mean_impedance: c.mean_impedance, p95_impedance: c.p95_impedance, agent_count: c.agent_count, active_count: c.active_count,
      });
    } else if (topic === 'mesh.circuits' && e.type === 'OperationalModeChanged') {
      const m = e as unknown as OperationalModeChanged;
      this.mode = { mode: m.new_mode, description: m.description, active_rate: m.active_rate };
    } else if (topic === 'mesh.conflicts' && e.type === 'ConflictReported') {
      const c = e as unknown as ConflictReported;
      this.conflicts.push({ conflict_id: c.conflict_id, agent_id: c.agent_id, sector_id: c.sector_id, cluster_id: c.cluster_id, conflict_type: c.detail.conflict_type, at: new Date(Number(c.meta.occurred_at) / 1000).toISOString() });
      if (this.conflicts.length > KEEP_CONFLICTS) this.conflicts.shift();
    }
  }

  snapshot(): MeshSnapshot {
    return { clusters: [...this.clusters.values()], mode: this.mode, conflicts: [...this.conflicts].reverse() };
  }
}
