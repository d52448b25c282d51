// Coordination requests as a producer builds them (the CLI's `mesh coordinate`, the demo) and
// what a schedule says once its chunks are in. Pure: values in, events and summaries out.
import { createHash, randomUUID } from 'node:crypto';
import {
  MESH_VERB_SYMBOLS, ROUTING_STRATEGY_SYMBOLS,
  type CoordinationRequested, type MeshVerb, type RoutingStrategy, type ScheduleComputed, type ScheduleEntry,
} from '../../schemas/generated/events';
import { parseTarget } from './schedule';

export interface CoordinationSpec {
  /** Agent ids or selectors (`class:A`, `cluster:S000-C00`, `sector:S003`, `capability:c`). */
  readonly targets: readonly string[];
  /** T, µs since the epoch. */
  readonly arrivalAtUs: number;
  readonly nowUs: number;
  readonly weight?: number;
  readonly priority?: number;
  readonly verb?: string;
  readonly routing?: string;
  readonly windowMs?: number;
  readonly ttlMs?: number;
  readonly capabilities?: readonly string[];
  readonly payload?: Buffer;
  readonly source?: string;
  readonly correlationId?: string;
  /** Event id and cause, for a request a decider derives (a cascade's stage); default a new id, no cause. */
  readonly eventId?: string;
  readonly causationId?: string;
  /** READY share needed for SUCCESS (seed default 0.95). */
  readonly minimumResponseRate?: number;
}

function oneOf<T extends string>(what: string, v: string, all: readonly T[]): T {
  if (!(all as readonly string[]).includes(v)) throw new Error(`${what} ${JSON.stringify(v)}: use one of ${all.join(', ')}`);
  return v as T;
}

/** The request, or an error naming the first bad value (the service would dead-letter it). */
export function coordinationRequested(s: CoordinationSpec): CoordinationRequested {
  const targets = s.targets.map((t) => t.trim()).filter(Boolean);
  if (targets.length === 0) throw new Error('no targets: give agent ids or selectors such as cluster:S000-C00, class:A, sector:S003, capability:<c>');
  for (const t of targets) {
    const sel = parseTarget(t);
    if (sel.kind === 'class' && !/^[A-F]$/.test(sel.value)) throw new Error(`target ${t}: classes are A to F`);
  }
  if (!Number.isFinite(s.arrivalAtUs)) throw new Error('the arrival time T is not a time');
  const weight = s.weight ?? 0;
  if (!(weight >= 0) || !Number.isFinite(weight)) throw new Error(`payload weight must be a finite number >= 0 (got ${weight})`);
  const priority = s.priority ?? 2;
  if (!Number.isInteger(priority) || priority < 0 || priority > 3) throw new Error(`priority must be 0 (background) to 3 (critical), got ${priority}`);
  const windowMs = s.windowMs ?? 500;
  if (!Number.isInteger(windowMs) || windowMs < 0) throw new Error(`arrival window must be a whole number of ms >= 0, got ${windowMs}`);
  // Default time to live: until T plus the window, at least a second.
  const ttlMs = s.ttlMs ?? Math.max(1000, Math.ceil((s.arrivalAtUs - s.nowUs) / 1000) + windowMs);
  if (!Number.isInteger(ttlMs) || ttlMs < 1) throw new Error(`ttl must be a whole number of ms >= 1, got ${ttlMs}`);
  const minimumResponseRate = s.minimumResponseRate ?? 0.95;
  if (!(minimumResponseRate >= 0 && minimumResponseRate <= 1)) throw new Error(`minimum response rate must be in [0, 1], got ${minimumResponseRate}`);
  const correlation = s.correlationId ?? randomUUID();
  const payload = s.payload ?? Buffer.alloc(0);
  return {
    type: 'CoordinationRequested',
    meta: { event_id: s.eventId ?? randomUUID(), correlation_id: correlation, causation_id: s.causationId ?? null, occurred_at: s.nowUs, producer: s.source ?? 'solvermesh-cli', sequence: null },
    message_id: `msg-${correlation}`,
    source_agent_id: s.source ?? 'orchestrator',
    target_agent_ids: targets,
    routing_strategy: oneOf<RoutingStrategy>('routing strategy', s.routing ?? 'SCATTER_GATHER', ROUTING_STRATEGY_SYMBOLS),
    target_arrival_time: s.arrivalAtUs,
    ttl_ms: ttlMs,
    arrival_window_ms: windowMs,
    minimum_response_rate: minimumResponseRate,
    priority,
    payload_weight: weight,
    requires_capabilities: [...(s.capabilities ?? [])],
    verb: oneOf<MeshVerb>('verb', s.verb ?? 'ACT', MESH_VERB_SYMBOLS),
    payload,
    payload_hash: createHash('sha256').update(payload).digest('hex'),
    trinary_expectation: 'READY',
    applied_through: null,
  };
}

/** Chunks of one schedule, gathered until all are in (they may arrive in any order). */
export class ScheduleGather {
  private readonly chunks = new Map<number, ScheduleComputed>();
  private count = 0;

  constructor(readonly correlationId: string) {}

  /** True when the event belonged to this schedule. */
  add(e: ScheduleComputed): boolean {
    if (e.meta.correlation_id !== this.correlationId) return false;
    this.chunks.set(e.chunk_index, e);
    this.count = e.chunk_count;
    return true;
  }

  get complete(): boolean { return this.count > 0 && this.chunks.size >= this.count; }

  entries(): ScheduleEntry[] {
    return [...this.chunks.keys()].sort((a, b) => a - b).flatMap((k) => this.chunks.get(k)!.entries);
  }

  get targetArrivalUs(): number | undefined { return this.chunks.values().next().value?.target_arrival_time; }

  /** Why the mesh refused the whole request (restrictions.ts); null for a schedule. */
  get refusedReason(): string | null { return this.chunks.get(0)?.refused_reason ?? null; }
}

export interface ScheduleSummary {
  readonly scheduled: number;
  readonly skipped: Readonly<Record<string, number>>;
  /** Distinct 10 ms send buckets (seed 002 §3.2). */
  readonly buckets: number;
  /** First and last send, ms before T. */
  readonly firstSendMsBeforeT: number | null;
  readonly lastSendMsBeforeT: number | null;
  readonly meanConfidence: number | null;
}

export function summarizeSchedule(entries: readonly ScheduleEntry[], targetUs: number): ScheduleSummary {
  const skipped: Record<string, number> = {};
  const buckets = new Set<number>();
  let scheduled = 0, conf = 0, first: number | null = null, last: number | null = null;
  for (const e of entries) {
    if (e.status === 'SKIP') { const r = e.skip_reason ?? 'UNKNOWN'; skipped[r] = (skipped[r] ?? 0) + 1; continue; }
    scheduled++;
    conf += e.confidence ?? 0;
    if (e.send_bucket_at !== null) buckets.add(e.send_bucket_at);
    if (e.send_at !== null) {
      const before = (targetUs - e.send_at) / 1000;
      first = first === null ? before : Math.max(first, before);
      last = last === null ? before : Math.min(last, before);
    }
  }
  return { scheduled, skipped, buckets: buckets.size, firstSendMsBeforeT: first, lastSendMsBeforeT: last, meanConfidence: scheduled > 0 ? conf / scheduled : null };
}

export function scheduleLine(s: ScheduleSummary): string {
  const skips = Object.entries(s.skipped).map(([r, n]) => `${n} ${r}`).join(', ');
  const sends = s.scheduled === 0 ? 'nothing to send'
    : `sends in ${s.buckets} bucket(s) of 10 ms, from ${s.firstSendMsBeforeT!.toFixed(0)} to ${s.lastSendMsBeforeT!.toFixed(0)} ms before T, mean confidence ${s.meanConfidence!.toFixed(2)}`;
  return `${s.scheduled} SCHEDULED, ${skips === '' ? '0 SKIP' : `SKIP: ${skips}`}; ${sends}`;
}

/** `+2s`, `+500ms`, an ISO time or µs since the epoch, to µs since the epoch. */
export function parseArrival(v: string, nowUs: number): number {
  const rel = /^\+(\d+(?:\.\d+)?)(ms|s|m)$/.exec(v.trim());
  if (rel) {
    const n = Number(rel[1]);
    return nowUs + Math.round((rel[2] === 'm' ? n * 60_000 : rel[2] === 's' ? n * 1000 : n) * 1000);
  }
  if (/^\d+$/.test(v.trim())) {
    if (v.trim().length !== 16) throw new Error(`--at ${v}: a number is read as µs since the epoch (16 digits, e.g. ${nowUs})`);
    return Number(v.trim());
  }
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new Error(`--at ${JSON.stringify(v)}: use +2s, +500ms, an ISO time, or µs since the epoch`);
  return ms * 1000;
}
