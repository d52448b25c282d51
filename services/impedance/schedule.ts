// Arrival-time send schedules (seed 002 §3.1 calculate_send_times, §3.2 group_by_time_bucket).
// Pure: "now" is the request's event time and the registry entries are passed in.
//
//   processing_estimate = base * (1 + 0.5 * payload_weight) * (1 + 0.1 * queue_depth)
//       base = the agent's measured p50 processing time, or the class base time (§3.1 table)
//       while it has no samples
//   buffer     = drift * latency        (calculate_buffer: two std-devs of the one-way latency)
//   lead_time  = latency / 2 + processing_estimate + buffer
//   send_at    = T - lead_time; SKIP (insufficient_lead_time) when send_at < now
//   confidence = clamp01(0.5 * reliability - 0.3 * drift + (0.2 if last heartbeat within 10 s))
import type {
  AgentClass, AgentOperationalState, CoordinationRequested, InputPosition, RegistryPosition, ScheduleComputed, ScheduleEntry,
} from '../../schemas/generated/events';
import { derivedEventId } from '../runtime/ids';
import { PRODUCER } from './agent-fold';
import { capabilityQualifies } from './load';
import { CLASS_BASE_PROCESSING_MS } from './score';

export const BUCKET_US = 10_000;
export const RECENT_HEARTBEAT_US = 10_000_000;
export const SCHEDULE_CHUNK = 5_000;
const NEVER = () => false;

/** What scheduling needs of one registry entry. */
export interface ScheduleAgent {
  readonly agentId: string;
  readonly agentClass: AgentClass;
  readonly latencyMs: number;
  readonly processingMs: number;
  readonly sampleCount: number;
  readonly queueDepth: number;
  readonly drift: number;
  readonly reliability: number;
  readonly lastHeartbeatAt: number;
  readonly state: AgentOperationalState;
  readonly capabilities: readonly string[];
  readonly clusterId: string;
  readonly sectorId: string;
  /** How far its partition's fold was when this entry was written to the registry (null: not known). */
  readonly position?: RegistryPosition | null;
}

export function estimateProcessingMs(a: Pick<ScheduleAgent, 'agentClass' | 'processingMs' | 'sampleCount' | 'queueDepth'>, payloadWeight: number): number {
  const base = a.sampleCount > 0 ? a.processingMs : CLASS_BASE_PROCESSING_MS[a.agentClass];
  return base * (1 + payloadWeight * 0.5) * (1 + a.queueDepth * 0.1);
}

export const driftBufferMs = (a: Pick<ScheduleAgent, 'drift' | 'latencyMs'>) => a.drift * a.latencyMs;

export function confidence(a: Pick<ScheduleAgent, 'drift' | 'reliability' | 'lastHeartbeatAt'>, nowUs: number): number {
  const recency = a.lastHeartbeatAt > nowUs - RECENT_HEARTBEAT_US ? 0.2 : 0;
  return Math.min(1, Math.max(0, a.reliability * 0.5 - a.drift * 0.3 + recency));
}

const skip = (agentId: string, a: ScheduleAgent | undefined, reason: ScheduleEntry['skip_reason'], leadMs = 0, availableMs: number | null = null): ScheduleEntry => ({
  agent_id: agentId, status: 'SKIP', lead_time_ms: leadMs, send_at: null, expected_processing_ms: null, confidence: null,
  skip_reason: reason, available_ms: availableMs, send_bucket_at: null, registry_position: a?.position ?? null,
});

/** `blocked`: the agent sits behind an OPEN circuit breaker (restrictions.ts). */
export function scheduleEntry(agentId: string, a: ScheduleAgent | undefined, req: CoordinationRequested, blocked: (a: ScheduleAgent) => boolean = NEVER): ScheduleEntry {
  if (!a) return skip(agentId, a, 'UNKNOWN_AGENT');
  if (a.state === 'OFFLINE' || a.state === 'QUARANTINED') return skip(agentId, a, 'AGENT_OFFLINE');
  if (blocked(a)) return skip(agentId, a, 'CIRCUIT_OPEN');
  // Partial matches above 70% pass (seed 003 capability routing, load.ts).
  if (!capabilityQualifies(req.requires_capabilities, a.capabilities)) return skip(agentId, a, 'MISSING_CAPABILITY');
  const now = req.meta.occurred_at;
  const T = req.target_arrival_time;
  const processing = estimateProcessingMs(a, req.payload_weight);
  const lead = a.latencyMs / 2 + processing + driftBufferMs(a);
  const sendAt = T - Math.round(lead * 1000);
  if (sendAt < now) return skip(agentId, a, 'INSUFFICIENT_LEAD_TIME', lead, (T - now) / 1000);
  return {
    agent_id: agentId,
    status: 'SCHEDULED',
    lead_time_ms: lead,
    send_at: sendAt,
    expected_processing_ms: processing,
    confidence: confidence(a, now),
    skip_reason: null,
    available_ms: null,
    send_bucket_at: Math.floor(sendAt / BUCKET_US) * BUCKET_US,
    registry_position: a.position ?? null,
  };
}

/**
 * Entries in send order (10 ms bucket, then agent id), SKIPs last; split into chunks.
 * `restrictionsThrough`: how far the guardian's decisions behind `blocked` were folded.
 */
export function computeSchedule(
  req: CoordinationRequested, targets: readonly string[], lookup: (id: string) => ScheduleAgent | undefined, chunkSize = SCHEDULE_CHUNK,
  blocked: (a: ScheduleAgent) => boolean = NEVER, restrictionsThrough: readonly InputPosition[] | null = null,
): ScheduleComputed[] {
  const unique = [...new Set(targets)];
  const entries = unique.map((id) => scheduleEntry(id, lookup(id), req, blocked));
  entries.sort((x, y) => {
    const bx = x.send_bucket_at ?? Infinity;
    const by = y.send_bucket_at ?? Infinity;
    if (bx !== by) return bx - by;
    return x.agent_id < y.agent_id ? -1 : x.agent_id > y.agent_id ? 1 : 0;
  });
  const count = Math.max(1, Math.ceil(entries.length / chunkSize));
  // What the coordinator needs of the request to dispatch and gather, so the schedule alone drives it.
  const terms = {
    created_at: req.meta.occurred_at, ttl_ms: req.ttl_ms, arrival_window_ms: req.arrival_window_ms, minimum_response_rate: req.minimum_response_rate,
    priority: req.priority, payload_hash: req.payload_hash, trinary_expectation: req.trinary_expectation,
  };
  const out: ScheduleComputed[] = [];
  for (let i = 0; i < count; i++) {
    out.push({
      type: 'ScheduleComputed',
      meta: {
        event_id: derivedEventId(req.meta.event_id, `schedule:${i}`),
        correlation_id: req.meta.correlation_id,
        causation_id: req.meta.event_id,
        occurred_at: req.meta.occurred_at,
        producer: PRODUCER,
        sequence: i,
      },
      message_id: req.message_id,
      target_arrival_time: req.target_arrival_time,
      chunk_index: i,
      chunk_count: count,
      entries: entries.slice(i * chunkSize, (i + 1) * chunkSize),
      terms,
      refused_reason: null,
      restrictions_through: restrictionsThrough === null ? null : [...restrictionsThrough],
    });
  }
  return out;
}

/** Send batches: bucket time (µs) -> agents to send to then (seed 002 §3.2 phase 3). */
export function sendBuckets(schedule: readonly ScheduleComputed[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const chunk of schedule) {
    for (const e of chunk.entries) {
      if (e.send_bucket_at === null) continue;
      let list = out.get(e.send_bucket_at);
      if (!list) { list = []; out.set(e.send_bucket_at, list); }
      list.push(e.agent_id);
    }
  }
  return out;
}

/** Target selectors in target_agent_ids: `class:<C>`, `cluster:<id>`, `sector:<id>`, `capability:<c>`; anything else is an agent id. */
export type TargetSelector = { kind: 'agent'; id: string } | { kind: 'class' | 'cluster' | 'sector' | 'capability'; value: string };

export function parseTarget(t: string): TargetSelector {
  const m = /^(class|cluster|sector|capability):(.+)$/.exec(t);
  if (!m) return { kind: 'agent', id: t };
  return { kind: m[1] as 'class' | 'cluster' | 'sector' | 'capability', value: m[2]! };
}
