// The orchestrator's status box (seed 002 §7.1 OrchestratorConsole.status), read from the registry.
import type { OperationalMode } from '../../schemas/generated/events';
import type { RegistryStore } from './registry-store';
import { operationalMode, stateAt, summarize } from './summaries';

export interface MeshStatus {
  readonly total: number;
  readonly active: number;
  /** Held in quarantine (seed 002 §7.2 "3 agents in quarantine"), offline. */
  readonly quarantined: number;
  readonly offline: number;
  readonly activeRate: number;
  readonly sectors: number;
  readonly sectorsHealthy: number;
  readonly meanImpedance: number;
  readonly conflictsLastHour: number;
  readonly predictionHitRate: number | null;
  readonly mode: OperationalMode;
  /** Event time the status is evaluated at (the latest heartbeat in the registry), µs. */
  readonly atUs: number;
}

export async function meshStatus(store: RegistryStore, atUs?: number): Promise<MeshStatus> {
  const agents = await store.snapshots();
  const at = atUs ?? agents.reduce((m, a) => Math.max(m, a.lastHeartbeatAt), 0);
  const acc = await store.accuracy(Math.floor(at / 1000));
  const s = summarize(agents, at, acc);
  return {
    total: s.mesh.total_agents,
    active: s.mesh.active_agents,
    quarantined: agents.filter((a) => stateAt(a, at) === 'QUARANTINED').length,
    offline: agents.filter((a) => stateAt(a, at) === 'OFFLINE').length,
    activeRate: s.mesh.active_rate,
    sectors: s.sectors.length,
    sectorsHealthy: s.mesh.sectors_healthy,
    meanImpedance: s.mesh.global_mean_impedance,
    conflictsLastHour: acc.conflicts,
    predictionHitRate: s.mesh.prediction_hit_rate,
    mode: operationalMode(s.mesh.active_rate),
    atUs: at,
  };
}

export function formatStatusBox(s: MeshStatus): string {
  const lines = [
    'MESH-30K STATUS',
    `Agents: ${s.active.toLocaleString('en-US')} / ${s.total.toLocaleString('en-US')} active (${(100 * s.activeRate).toFixed(1)}%)`,
    `Quarantined: ${s.quarantined}, offline: ${s.offline}`,
    `Sectors: ${s.sectorsHealthy}/${s.sectors} healthy`,
    `Mean Impedance: ${Math.round(s.meanImpedance)}ms`,
    `Conflicts (last hour): ${s.conflictsLastHour}`,
    `Prediction within 50 ms: ${s.predictionHitRate === null ? 'n/a' : `${(100 * s.predictionHitRate).toFixed(1)}%`}`,
    `Mode: ${s.mode}`,
  ];
  return formatBox(lines[0]!, lines.slice(1));
}

/** A console box: the title, a rule, the lines. */
export function formatBox(title: string, lines: readonly string[]): string {
  const w = Math.max(title.length, ...lines.map((l) => l.length)) + 2;
  const row = (l: string) => `│ ${l.padEnd(w - 1)}│`;
  return [`┌${'─'.repeat(w)}┐`, row(title), `├${'─'.repeat(w)}┤`, ...lines.map(row), `└${'─'.repeat(w)}┘`].join('\n');
}

export const statusLine = (s: MeshStatus) =>
  `mesh: ${s.active}/${s.total} active (${(100 * s.activeRate).toFixed(1)}%), ${s.offline} offline, ${s.quarantined} quarantined, sectors ${s.sectorsHealthy}/${s.sectors} healthy, mean impedance ${Math.round(s.meanImpedance)}ms, conflicts ${s.conflictsLastHour}, arrivals within 50 ms ${s.predictionHitRate === null ? 'n/a' : `${(100 * s.predictionHitRate).toFixed(1)}%`}, mode ${s.mode}`;
