// The seed's cascades (seed 002 §3.3) as stages over a registry snapshot, for whoever requests
// one (the CLI, the bench, the demo). Pure.
//   lead            fixed (the same for every stage), or sized to each stage's targets: a path
//                   allowance (request -> schedule -> dispatch -> agent, which the agents' own
//                   lead times do not include) + the largest lead time (latency / 2 + processing
//                   estimate + drift buffer, services/impedance/schedule.ts) among its targets, of
//                   those within the seed's impedance compensation range (§8.3: 0 to 1000 ms; an
//                   agent needing more is SKIPped as too late, as with a fixed lead). A wave's
//                   sector coordinators and cluster leads are the lowest-impedance agents (tens
//                   of ms), so their stages no longer wait the slowest class's lead.
//   wave            sector coordinators (window 200 ms, 0.98), then cluster leads, then every
//                   agent of the sectors; a sector's coordinator and a cluster's lead are its
//                   lowest-impedance ACTIVE agent (§4.2: pick the lowest impedance)
//   parallel        every agent at once, window 1000 ms, 0.90 ("lower threshold for speed")
//   priority_first  CLASS_D_GPU 0.99, CLASS_C 0.98, CLASS_B 0.95, CLASS_A 0.90, CLASS_E 0.85
import type { CascadeStage, CascadeStrategy } from '../../schemas/generated/events';
import type { AgentSnapshot } from '../impedance/summaries';
import { driftBufferMs, estimateProcessingMs, type ScheduleAgent } from '../impedance/schedule';

/** §8.3 "Impedance compensation range: 0ms to 1000ms lead time". */
export const MAX_COMPENSATION_MS = 1000;

/** An agent's lead time as its schedule entry would have it (services/impedance/schedule.ts), ms. */
export const agentLeadMs = (a: ScheduleAgent, payloadWeight = 0) => a.latencyMs / 2 + estimateProcessingMs(a, payloadWeight) + driftBufferMs(a);

export interface SizedLead {
  /** The path from a stage's request to its agents, ms. */
  readonly pathMs: number;
  /** Lead time per agent id (agentLeadMs); agents not in it do not size a stage. */
  readonly leadOf: ReadonlyMap<string, number>;
}

/** pathMs + the largest lead within the compensation range among `agentIds`, whole ms. */
export function sizedLeadMs(agentIds: Iterable<string>, s: SizedLead): number {
  let most = 0;
  for (const id of agentIds) {
    const l = s.leadOf.get(id);
    if (l !== undefined && l <= MAX_COMPENSATION_MS && l > most) most = l;
  }
  return Math.ceil(s.pathMs + most);
}

export interface StageTiming {
  /** T of each stage = its start + lead (when not sized). */
  readonly leadMs: number;
  /** Each stage's lead sized to its targets instead (sizedLeadMs). */
  readonly sized?: SizedLead;
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
  const active = agents.filter((a) => a.state === 'ACTIVE');
  // The agents a stage's targets name, for its sized lead: agent ids, a sector's agents; a class
  // selector (the snapshot has no class) is sized by every agent, the slowest class's lead.
  const named = (targets: readonly string[]): string[] => targets.flatMap((x) => {
    if (x.startsWith('sector:')) return active.filter((a) => a.sectorId === x.slice('sector:'.length)).map((a) => a.agentId);
    if (x.startsWith('class:')) return active.map((a) => a.agentId);
    return [x];
  });
  const s = (label: string, targets: string[], min: number, windowMs: number, priority = 0): CascadeStage => ({
    label, targets, priority, lead_ms: t.sized ? sizedLeadMs(named(targets), t.sized) : t.leadMs, arrival_window_ms: windowMs, minimum_response_rate: min, timeout_ms: t.timeoutMs,
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
