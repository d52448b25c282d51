// The seed's cascades (seed 002 §3.3) as stages over a registry snapshot, for whoever requests
// one (the CLI, the bench, the demo). Pure.
//   wave            sector coordinators (window 200 ms, 0.98), then cluster leads, then every
//                   agent of the sectors; a sector's coordinator and a cluster's lead are its
//                   lowest-impedance ACTIVE agent (§4.2: pick the lowest impedance)
//   parallel        every agent at once, window 1000 ms, 0.90 ("lower threshold for speed")
//   priority_first  CLASS_D_GPU 0.99, CLASS_C 0.98, CLASS_B 0.95, CLASS_A 0.90, CLASS_E 0.85
import type { CascadeStage, CascadeStrategy } from '../../schemas/generated/events';
import type { AgentSnapshot } from '../impedance/summaries';

export interface StageTiming {
  /** T of each stage = its start + lead. */
  readonly leadMs: number;
  /** How long after T + window a stage's decision is awaited. */
  readonly timeoutMs: number;
}

export const DEFAULT_TIMING: StageTiming = { leadMs: 1000, timeoutMs: 5000 };

/** Lowest score per group among ACTIVE agents, ties by id; in group order. */
function leads(agents: readonly AgentSnapshot[], groupOf: (a: AgentSnapshot) => string): string[] {
  const best = new Map<string, AgentSnapshot>();
  for (const a of agents) {
    if (a.state !== 'ACTIVE') continue;
    const g = groupOf(a);
    const b = best.get(g);
    if (!b || a.score < b.score || (a.score === b.score && a.agentId < b.agentId)) best.set(g, a);
  }
  return [...best.keys()].sort().map((g) => best.get(g)!.agentId);
}

const sectorsOf = (agents: readonly AgentSnapshot[]) => [...new Set(agents.map((a) => a.sectorId))].sort();

export function seedStages(strategy: CascadeStrategy, agents: readonly AgentSnapshot[], t: StageTiming = DEFAULT_TIMING): CascadeStage[] {
  const s = (label: string, targets: string[], min: number, windowMs: number, priority = 0): CascadeStage => ({
    label, targets, priority, lead_ms: t.leadMs, arrival_window_ms: windowMs, minimum_response_rate: min, timeout_ms: t.timeoutMs,
  });
  const everyone = sectorsOf(agents).map((x) => `sector:${x}`);
  switch (strategy) {
    case 'WAVE':
      return [
        s('sector coordinators', leads(agents, (a) => a.sectorId), 0.98, 200),
        s('cluster leads', leads(agents, (a) => a.clusterId), 0.95, 500),
        s('agents', everyone, 0.95, 500),
      ];
    case 'PARALLEL':
      return [s('all agents', everyone, 0.90, 1000)];
    case 'PRIORITY_FIRST':
      return ([['CLASS_D_GPU', 'D', 0.99], ['CLASS_C_PERSISTENT', 'C', 0.98], ['CLASS_B_SERVERLESS', 'B', 0.95], ['CLASS_A_EDGE', 'A', 0.90], ['CLASS_E_LOCAL', 'E', 0.85]] as const)
        .map(([label, cls, min], i) => s(label, [`class:${cls}`], min, 500, 5 - i));
    default: { const never: never = strategy; return never; }
  }
}
