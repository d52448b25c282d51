// The per-agent fold (seed 002 §2.3, §4.1, §6.1): heartbeats in, registry entries and state
// changes out. Time is event time only: a heartbeat's occurred_at, and the watermark (the
// largest occurred_at seen on the partition) that fires the offline timers, so a replay of
// the same records makes the same decisions at the same instants. No clock, no I/O.
import type {
  AgentClass, AgentOperationalState, AgentStateCause, AgentStateChanged, HeartbeatReceived, ImpedanceUpdated,
} from '../../schemas/generated/events';
import { packFloat64, packInt32, unpackFloat64, unpackInt32 } from '../../schemas/packed';
import { derivedEventId } from '../runtime/ids';
import {
  OFFLINE_AFTER_MS, WINDOW_SIZE, degradedThreshold, driftCoefficient, impedanceScore, missedHeartbeats, p50,
  recordHeartbeat, reliability, type ReliabilityBucket,
} from './score';

export const PRODUCER = 'impedance';
const US_PER_MS = 1000;
export const OFFLINE_AFTER_US = OFFLINE_AFTER_MS * US_PER_MS;

export interface AgentState {
  readonly agentId: string;
  readonly agentClass: AgentClass;
  readonly sectorId: string;
  readonly clusterId: string;
  readonly capabilities: readonly string[];
  readonly contextHash: string;
  /** Reported latencies / processing times, oldest first, at most WINDOW_SIZE. */
  readonly latencies: readonly number[];
  readonly processings: readonly number[];
  readonly queueDepth: number;
  readonly buckets: readonly ReliabilityBucket[];
  /** Event time (µs) of the last heartbeat folded in, and its event id. */
  readonly lastHeartbeatAt: number;
  readonly lastHeartbeatEventId: string;
  readonly state: AgentOperationalState;
  /** Bumped on every change: the changelog's meta.sequence and the registry's write guard. */
  readonly revision: number;
  /** Event time (µs) of the last change: a heartbeat, or the offline timer. */
  readonly updatedAt: number;
  // Derived from the above, kept so readers need not recompute.
  readonly latencyMs: number;
  readonly processingMs: number;
  readonly drift: number;
  readonly reliability: number;
  readonly score: number;
}

type Measured = Pick<AgentState, 'latencyMs' | 'processingMs' | 'drift' | 'reliability' | 'score'>;

function measure(latencies: readonly number[], processings: readonly number[], queueDepth: number, buckets: readonly ReliabilityBucket[], atUs: number): Measured {
  const latencyMs = p50(latencies);
  const processingMs = p50(processings);
  const drift = driftCoefficient(latencies);
  const rel = reliability(buckets, Math.floor(atUs / US_PER_MS));
  return { latencyMs, processingMs, drift, reliability: rel, score: impedanceScore({ latencyMs, processingMs, queueDepth, drift, reliability: rel }) };
}

/** The last WINDOW_SIZE values after appending x (one new array: the previous state stays intact for undo). */
function window(xs: readonly number[], x: number): number[] {
  const from = xs.length >= WINDOW_SIZE ? xs.length - WINDOW_SIZE + 1 : 0;
  const out = new Array<number>(xs.length - from + 1);
  for (let i = from; i < xs.length; i++) out[i - from] = xs[i]!;
  out[out.length - 1] = x;
  return out;
}

/** Whether `xs` (sorted) holds the same capabilities as `ys` in any order: the common case is the same list. */
function sameList(xs: readonly string[], ys: readonly string[]): boolean {
  if (xs.length !== ys.length) return false;
  for (let i = 0; i < xs.length; i++) if (xs[i] !== ys[i]) return [...ys].sort().every((y, j) => y === xs[j]);
  return true;
}

/** State implied by a score while the agent is heard from (QUARANTINED is sticky). */
function liveState(prev: AgentOperationalState | undefined, cls: AgentClass, score: number): AgentOperationalState {
  if (prev === 'QUARANTINED') return 'QUARANTINED';
  return score > degradedThreshold(cls) ? 'DEGRADED' : 'ACTIVE';
}

export interface HeartbeatOutcome {
  readonly agent: AgentState;
  /** Present when the operational state changed (not on an agent's first heartbeat). */
  readonly changed?: AgentStateChanged;
}

/**
 * Folds one heartbeat. Returns undefined when it is not newer than the last one folded in:
 * a replayed or duplicated heartbeat counts once.
 */
export function foldHeartbeat(prev: AgentState | undefined, hb: HeartbeatReceived): HeartbeatOutcome | undefined {
  const at = hb.meta.occurred_at;
  if (prev && at <= prev.lastHeartbeatAt) return undefined;
  const gapMs = prev ? (at - prev.lastHeartbeatAt) / US_PER_MS : 0;
  const latencies = window(prev?.latencies ?? [], hb.latency_ms);
  const processings = window(prev?.processings ?? [], hb.processing_ms);
  const buckets = recordHeartbeat(prev?.buckets ?? [], Math.floor(at / US_PER_MS), missedHeartbeats(gapMs));
  const m = measure(latencies, processings, hb.queue_depth, buckets, at);
  const state = liveState(prev?.state, hb.agent_class, m.score);
  const agent: AgentState = {
    agentId: hb.agent_id,
    agentClass: hb.agent_class,
    sectorId: hb.sector_id,
    clusterId: hb.cluster_id,
    capabilities: prev && sameList(prev.capabilities, hb.capabilities) ? prev.capabilities : [...hb.capabilities].sort(),
    contextHash: hb.context_hash,
    latencies,
    processings,
    queueDepth: hb.queue_depth,
    buckets,
    lastHeartbeatAt: at,
    lastHeartbeatEventId: hb.meta.event_id,
    state,
    revision: (prev?.revision ?? 0) + 1,
    updatedAt: at,
    latencyMs: m.latencyMs,
    processingMs: m.processingMs,
    drift: m.drift,
    reliability: m.reliability,
    score: m.score,
  };
  if (!prev || prev.state === state) return { agent };
  const cause: AgentStateCause = prev.state === 'OFFLINE' ? 'HEARTBEAT_RESUMED'
    : state === 'ACTIVE' ? 'RECOVERED'
    : m.score > 800 ? 'HIGH_IMPEDANCE' : 'IMPEDANCE_SPIKE';
  return { agent, changed: stateChanged(prev, agent, cause, hb.meta.event_id, at, `impedance ${m.score.toFixed(1)} (threshold ${degradedThreshold(hb.agent_class).toFixed(1)})`) };
}

/** The offline timer: no heartbeat for 30 s of event time. Undefined if it is not due or moot. */
export function timeoutAgent(agent: AgentState, watermarkUs: number): HeartbeatOutcome | undefined {
  const due = agent.lastHeartbeatAt + OFFLINE_AFTER_US;
  if (agent.state === 'OFFLINE' || agent.state === 'QUARANTINED' || watermarkUs < due) return undefined;
  const next: AgentState = { ...agent, state: 'OFFLINE', revision: agent.revision + 1, updatedAt: due };
  return { agent: next, changed: stateChanged(agent, next, 'HEARTBEAT_TIMEOUT', agent.lastHeartbeatEventId, due, `no heartbeat for ${OFFLINE_AFTER_MS / 1000} s`) };
}

function stateChanged(prev: AgentState, next: AgentState, cause: AgentStateCause, causationId: string, atUs: number, detail: string): AgentStateChanged {
  return {
    type: 'AgentStateChanged',
    meta: meta(derivedEventId(causationId, `state:${next.revision}`), next.agentId, causationId, atUs, null),
    agent_id: next.agentId,
    sector_id: next.sectorId,
    cluster_id: next.clusterId,
    previous_state: prev.state,
    new_state: next.state,
    cause,
    last_heartbeat_at: next.lastHeartbeatAt,
    detail,
  };
}

function meta(eventId: string, correlationId: string, causationId: string, occurredAt: number, sequence: number | null) {
  return { event_id: eventId, correlation_id: correlationId, causation_id: causationId, occurred_at: occurredAt, producer: PRODUCER, sequence };
}

function packBuckets(buckets: readonly ReliabilityBucket[]): Buffer {
  const out = new Int32Array(buckets.length * 3);
  buckets.forEach((b, i) => { out[3 * i] = b.index; out[3 * i + 1] = b.received; out[3 * i + 2] = b.missed; });
  return packInt32(out);
}

/**
 * The changelog entry: everything a new owner needs to continue the fold exactly.
 * `appliedThrough` is the heartbeat offset of the checkpoint it belongs to (see processor.ts).
 */
export function toImpedanceUpdated(a: AgentState, appliedThrough: number | null = null): ImpedanceUpdated {
  return {
    type: 'ImpedanceUpdated',
    meta: meta(derivedEventId(a.lastHeartbeatEventId, `impedance:${a.revision}`), a.agentId, a.lastHeartbeatEventId, a.updatedAt, a.revision),
    agent_id: a.agentId,
    agent_class: a.agentClass,
    sector_id: a.sectorId,
    cluster_id: a.clusterId,
    current_latency_ms: a.latencyMs,
    current_processing_ms: a.processingMs,
    current_queue_depth: a.queueDepth,
    last_heartbeat_at: a.lastHeartbeatAt,
    impedance_score: a.score,
    reliability_score: a.reliability,
    drift_coefficient: a.drift,
    sample_count: a.latencies.length,
    operational_state: a.state,
    context_hash: a.contextHash,
    capabilities: [...a.capabilities],
    latency_window: packFloat64(Float64Array.from(a.latencies)),
    processing_window: packFloat64(Float64Array.from(a.processings)),
    reliability_buckets: packBuckets(a.buckets),
    last_heartbeat_event_id: a.lastHeartbeatEventId,
    applied_through: appliedThrough,
  };
}

/** Inverse of toImpedanceUpdated. Entries from producers without windows restart them from the current values. */
export function fromImpedanceUpdated(e: ImpedanceUpdated): AgentState {
  const lat = Array.from(unpackFloat64(e.latency_window ?? Buffer.alloc(0)));
  const proc = Array.from(unpackFloat64(e.processing_window ?? Buffer.alloc(0)));
  const raw = unpackInt32(e.reliability_buckets ?? Buffer.alloc(0));
  const buckets: ReliabilityBucket[] = [];
  for (let i = 0; i + 2 < raw.length; i += 3) buckets.push({ index: raw[i]!, received: raw[i + 1]!, missed: raw[i + 2]! });
  const legacy = lat.length === 0;
  return {
    agentId: e.agent_id,
    agentClass: e.agent_class,
    sectorId: e.sector_id,
    clusterId: e.cluster_id,
    capabilities: [...e.capabilities].sort(),
    contextHash: e.context_hash,
    latencies: legacy ? [e.current_latency_ms] : lat,
    processings: legacy ? [e.current_processing_ms] : proc,
    queueDepth: e.current_queue_depth,
    buckets,
    lastHeartbeatAt: e.last_heartbeat_at,
    lastHeartbeatEventId: e.last_heartbeat_event_id ?? e.meta.causation_id ?? e.meta.event_id,
    state: e.operational_state,
    revision: e.meta.sequence ?? 0,
    updatedAt: e.meta.occurred_at,
    latencyMs: e.current_latency_ms,
    processingMs: e.current_processing_ms,
    drift: e.drift_coefficient,
    reliability: e.reliability_score,
    score: e.impedance_score,
  };
}
