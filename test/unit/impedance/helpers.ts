import assert from 'node:assert/strict';
import type { AckReceived, AgentClass, HeartbeatReceived } from '../../../schemas/generated/events';
import { derivedEventId } from '../../../services/runtime/ids';

export const T0 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z in µs
export const S = 1_000_000;

export function close(actual: number | null | undefined, expected: number, eps = 1e-9, what = 'value'): void {
  assert.ok(actual !== null && actual !== undefined && Math.abs(actual - expected) <= eps, `${what}: expected ${expected}, got ${actual}`);
}

export interface HbOver {
  agent?: string; at?: number; latency?: number; processing?: number; queue?: number; cls?: AgentClass;
  cluster?: string; sector?: string; caps?: string[]; id?: string; util?: number | null;
}

export function hb(o: HbOver = {}): HeartbeatReceived {
  const agent = o.agent ?? 'agent-1';
  const at = o.at ?? T0;
  return {
    type: 'HeartbeatReceived',
    meta: { event_id: o.id ?? derivedEventId(`hb:${agent}`, String(at)), correlation_id: agent, causation_id: null, occurred_at: at, producer: 'test', sequence: null },
    agent_id: agent,
    agent_class: o.cls ?? 'CLASS_B_SERVERLESS',
    sector_id: o.sector ?? 'S001',
    cluster_id: o.cluster ?? 'S001-C01',
    latency_ms: o.latency ?? 100,
    processing_ms: o.processing ?? 50,
    queue_depth: o.queue ?? 0,
    capabilities: o.caps ?? ['api'],
    context_hash: 'ctx-1',
    received_at: at + 1000,
    utilisation: o.util ?? null,
    sender_seq: null,
    signature: null,
  };
}

export interface AckOver {
  agent?: string; at?: number; message?: string; state?: 'READY' | 'TRANSIT' | 'CONFLICT';
  /** Arrival minus T, ms (default 0: on time). */
  lateMs?: number; expected?: number | null; conflictType?: 'HASH_MISMATCH' | 'DATA_CONTRADICTION' | 'CONTEXT_DIVERGENCE';
}

/** An ack of message `message`, arriving at `at` (event time), T = at - lateMs. */
export function ackOf(o: AckOver = {}): AckReceived {
  const agent = o.agent ?? 'agent-1';
  const at = o.at ?? T0;
  const message = o.message ?? `m-${at}`;
  const state = o.state ?? 'READY';
  return {
    type: 'AckReceived',
    meta: { event_id: derivedEventId(`ack:${message}`, `${agent}:${state}`), correlation_id: `c-${message}`, causation_id: null, occurred_at: at, producer: 'test', sequence: null },
    message_id: message,
    agent_id: agent,
    state,
    actual_arrival_at: at,
    expected_arrival_at: o.expected === undefined ? at - (o.lateMs ?? 0) * 1000 : o.expected,
    processing_ms: 10,
    conflict: state === 'CONFLICT' ? {
      conflict_type: o.conflictType ?? 'DATA_CONTRADICTION', expected_value: 'a', received_value: 'b', context_hash: 'ctx-1',
      divergence_depth: null, affects_agent_count: null, conflicting_data: null,
    } : null,
    payload_hash: null,
    sender_seq: null,
    signature: null,
  };
}
