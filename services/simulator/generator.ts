// The MESH-30K agent population and its heartbeats, pure and seeded (seed 002 §2.1 hierarchy:
// 30 agents per cluster, 10 clusters per sector; §2.2 class mix and latencies; §3.1 processing
// base times). The same seed gives the same mesh and the same heartbeats.
import type { AckReceived, AgentClass, ConflictDetail, HeartbeatReceived, MessageDispatched } from '../../schemas/generated/events';
import { seededRng } from '../../schemas/arbitrary';
import { derivedEventId } from '../runtime/ids';

/** The catalog's seeded PRNG (mulberry32): same seed, same mesh. */
export const prng = seededRng;

/** Standard normal by Box-Muller. */
export function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Seed 002 §2.2 count_allocation. */
export const CLASS_MIX: ReadonlyArray<readonly [AgentClass, number]> = [
  ['CLASS_A_EDGE', 10_000], ['CLASS_B_SERVERLESS', 8_000], ['CLASS_C_PERSISTENT', 5_000],
  ['CLASS_D_GPU', 2_000], ['CLASS_E_LOCAL', 3_000], ['CLASS_F_HUMAN', 2_000],
];

interface ClassProfile { latency: [number, number]; processing: number; jitter: number; caps: string[] }

/** §2.2 typical latency ranges; §3.1 base processing times; §2.2 best_for as capabilities. */
export const CLASS_PROFILE: Readonly<Record<AgentClass, ClassProfile>> = {
  CLASS_A_EDGE: { latency: [5, 20], processing: 10, jitter: 0.05, caps: ['routing', 'transform', 'cache'] },
  CLASS_B_SERVERLESS: { latency: [50, 150], processing: 50, jitter: 0.05, caps: ['api', 'database', 'integration'] },
  CLASS_C_PERSISTENT: { latency: [100, 300], processing: 200, jitter: 0.04, caps: ['reasoning', 'batch', 'training'] },
  CLASS_D_GPU: { latency: [200, 500], processing: 100, jitter: 0.04, caps: ['embedding', 'inference', 'vision'] },
  CLASS_E_LOCAL: { latency: [20, 400], processing: 150, jitter: 0.08, caps: ['sensor', 'local_state', 'physical'] },
  CLASS_F_HUMAN: { latency: [1000, 10_000], processing: 60_000, jitter: 0.3, caps: ['approval', 'review', 'oversight'] },
};

export interface AgentProfile {
  readonly index: number;
  readonly agentId: string;
  readonly agentClass: AgentClass;
  readonly sectorId: string;
  readonly clusterId: string;
  readonly latencyMs: number;
  readonly processingMs: number;
  readonly capabilities: readonly string[];
  /** Offset of its heartbeat within each 5 s period, µs. */
  readonly phaseUs: number;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** `agents` agents with the seed's class proportions (exact at 30,000), shuffled over the hierarchy. */
export function buildMesh(agents: number, seed = 1): AgentProfile[] {
  const rand = prng(seed);
  const total = CLASS_MIX.reduce((s, [, n]) => s + n, 0);
  const classes: AgentClass[] = [];
  CLASS_MIX.forEach(([cls, n], i) => {
    const count = i === CLASS_MIX.length - 1 ? agents - classes.length : Math.round((n * agents) / total);
    for (let j = 0; j < count && classes.length < agents; j++) classes.push(cls);
  });
  for (let i = classes.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [classes[i], classes[j]] = [classes[j]!, classes[i]!];
  }
  return classes.map((cls, i) => {
    const p = CLASS_PROFILE[cls];
    const sector = Math.floor(i / 300);
    const cluster = Math.floor(i / 30) % 10;
    return {
      index: i,
      agentId: `S${pad(sector, 3)}-C${pad(cluster, 2)}-A${pad(i % 30, 2)}`,
      agentClass: cls,
      sectorId: `S${pad(sector, 3)}`,
      clusterId: `S${pad(sector, 3)}-C${pad(cluster, 2)}`,
      latencyMs: p.latency[0] + rand() * (p.latency[1] - p.latency[0]),
      processingMs: p.processing * (0.8 + 0.4 * rand()),
      capabilities: p.caps.filter(() => rand() < 0.8).concat(p.caps[0]!).filter((c, k, xs) => xs.indexOf(c) === k),
      phaseUs: Math.floor((i * 5_000_000) / agents),
    };
  });
}

export interface Faults {
  /** Agent ids answering 5x slower. */
  readonly slow: ReadonlySet<string>;
  /** Agent ids that stopped sending heartbeats. */
  readonly dead: ReadonlySet<string>;
  /** Agent ids whose latency wanders (high variance). */
  readonly drifting: ReadonlySet<string>;
  /** Cluster ids whose agents all stopped. */
  readonly failingClusters: ReadonlySet<string>;
  /** Agent ids answering every scheduled message with CONFLICT (seed 002 §6.1 BYZANTINE_BEHAVIOR). */
  readonly conflicting: ReadonlySet<string>;
  /** What the conflicting agents report (default: the random conflicts' DATA_CONTRADICTION, priority 2). */
  readonly conflictDetail?: ConflictDetail;
  /**
   * Heartbeat periods (5 s each) the dead agents and failing clusters still send before they
   * stop: 0 means never heard from; more means they are in the registry first, and go offline
   * 30 s of event time after their last heartbeat (seed 002 §6.1 AGENT_CRASH).
   */
  readonly diesAfterPeriods: number;
}

export const NO_FAULTS: Faults = { slow: new Set(), dead: new Set(), drifting: new Set(), failingClusters: new Set(), conflicting: new Set(), diesAfterPeriods: 0 };

export interface FaultCounts {
  readonly slow?: number; readonly dead?: number; readonly drifting?: number; readonly conflicting?: number;
  readonly failingClusters?: readonly string[]; readonly diesAfterPeriods?: number;
}

/** Picks fault victims: `slow`, `dead`, `drifting` agents (counts) and failing clusters, seeded. */
export function pickFaults(mesh: readonly AgentProfile[], o: FaultCounts, seed = 2): Faults {
  const rand = prng(seed);
  const pick = (n: number) => {
    const out = new Set<string>();
    while (out.size < Math.min(n, mesh.length)) out.add(mesh[Math.floor(rand() * mesh.length)]!.agentId);
    return out;
  };
  // Picked in this order so adding conflicting agents leaves the other victims of a seed as they were.
  const slow = pick(o.slow ?? 0);
  const dead = pick(o.dead ?? 0);
  const drifting = pick(o.drifting ?? 0);
  return { slow, dead, drifting, failingClusters: new Set(o.failingClusters ?? []), conflicting: pick(o.conflicting ?? 0), diesAfterPeriods: o.diesAfterPeriods ?? 0 };
}

export interface Sample { readonly latencyMs: number; readonly processingMs: number }

export function sample(a: AgentProfile, rand: () => number, faults: Faults): Sample {
  const p = CLASS_PROFILE[a.agentClass];
  const slow = faults.slow.has(a.agentId) ? 5 : 1;
  const spread = faults.drifting.has(a.agentId) ? 0.8 : p.jitter;
  return {
    latencyMs: Math.max(0.1, a.latencyMs * slow * (1 + spread * gaussian(rand))),
    processingMs: Math.max(0.1, a.processingMs * slow * (1 + p.jitter * gaussian(rand))),
  };
}

/** A dead agent or one of a failing cluster (silent from period `faults.diesAfterPeriods` on). */
export const isDown = (a: AgentProfile, f: Faults) => f.dead.has(a.agentId) || f.failingClusters.has(a.clusterId);

/** The heartbeat of agent `a` in period `period` (event time = start + period * 5 s + phase), or null when it is down. */
export function heartbeat(a: AgentProfile, startUs: number, period: number, rand: () => number, faults: Faults, producer = 'simulator'): HeartbeatReceived | null {
  if (period >= faults.diesAfterPeriods && isDown(a, faults)) return null;
  const at = startUs + period * 5_000_000 + a.phaseUs;
  const s = sample(a, rand, faults);
  const queue = Math.floor(rand() * rand() * 4);
  return {
    type: 'HeartbeatReceived',
    meta: { event_id: derivedEventId(`sim:${a.agentId}`, String(at)), correlation_id: a.agentId, causation_id: null, occurred_at: at, producer, sequence: period },
    agent_id: a.agentId,
    agent_class: a.agentClass,
    sector_id: a.sectorId,
    cluster_id: a.clusterId,
    latency_ms: s.latencyMs,
    processing_ms: s.processingMs,
    queue_depth: queue,
    capabilities: [...a.capabilities],
    context_hash: 'ctx-0',
    received_at: at + Math.round((s.latencyMs / 2) * 1000),
    // From the queue rather than another draw, so the random stream (and every spec built on
    // it) stays as it was: 0 -> 0.1, 1 -> 0.4, 2 -> 0.7, 3 -> 1.0.
    utilisation: Math.min(1, 0.1 + 0.3 * queue),
    sender_seq: null,
    signature: null,
  };
}

/**
 * An agent's answer to a message dispatched to it: the message reaches it a one-way latency after
 * it was sent (or when it was received, if later) and is acknowledged after processing (the ack's arrival is when it is READY); one
 * that reaches it past its ttl is dropped unanswered (seed 002 §2.4). 0.5 % conflicts (all of
 * them for conflicting agents); down agents do not answer.
 * `sentAtUs` is when the message was written to mesh.dispatch (its record's timestamp): its
 * dispatched_at is the event time of the tick that released it, which the coordinator writes
 * ahead of the send bucket, so counting from it would have agents answer before the message existed.
 */
export function ack(a: AgentProfile, m: MessageDispatched, rand: () => number, faults: Faults, receivedAtUs = 0, sentAtUs = m.dispatched_at): AckReceived | null {
  if (isDown(a, faults)) return null;
  const s = sample(a, rand, faults);
  // Not before the agent had it: a message the mesh delivered late reached it late.
  const reached = Math.max(Math.max(sentAtUs, m.dispatched_at) + Math.round((s.latencyMs / 2) * 1000), receivedAtUs);
  if (reached > m.expires_at) return null;
  const arrival = reached + Math.round(s.processingMs * 1000);
  const faulty = faults.conflicting.has(a.agentId);
  const conflict = rand() < 0.005 || faulty;
  return {
    type: 'AckReceived',
    meta: { event_id: derivedEventId(`ack:${m.message_id}`, a.agentId), correlation_id: m.meta.correlation_id, causation_id: m.meta.event_id, occurred_at: arrival, producer: 'simulator', sequence: null },
    message_id: m.message_id,
    agent_id: a.agentId,
    state: conflict ? 'CONFLICT' : 'READY',
    actual_arrival_at: arrival,
    expected_arrival_at: m.target_arrival_time,
    processing_ms: s.processingMs,
    conflict: !conflict ? null : faulty && faults.conflictDetail ? faults.conflictDetail : {
      conflict_type: 'DATA_CONTRADICTION', expected_value: 'a', received_value: 'b', context_hash: 'ctx-0',
      divergence_depth: null, affects_agent_count: null, conflicting_data: null,
    },
    payload_hash: m.payload_hash,
    sender_seq: null,
    signature: null,
  };
}
