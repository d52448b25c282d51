// The per-agent fold (seed 002 §2.3, §4.1, §6.1): heartbeats and acks in, registry entries and
// state changes out. Time is event time only: a heartbeat's occurred_at, and the watermark (the
// largest heartbeat occurred_at seen on the partition) that fires the offline and quarantine
// release timers, so a replay of the same records makes the same decisions at the same instants.
// No clock, no I/O.
//
// An agent is two folds combined: its heartbeats (mesh.heartbeats, in partition order) and its
// acks (mesh.agent-acks, the same partition number, in partition order: ack-fold.ts). Neither
// reads what the other derived; the derived values (reliability, score, operational state) are
// recomputed from both, and the revision counts heartbeats + acks + offline timeouts. So the
// result does not depend on how the two streams interleave, which differs between the live run
// and a new owner replaying both tails after a checkpoint.
import type {
  AckReceived, AgentClass, ConflictReported, AgentOperationalState, AgentStateCause, AgentStateChanged, HeartbeatReceived, ImpedanceUpdated, MeshHealRequested,
} from '../../schemas/generated/events';
import { packFloat64, packInt32, unpackFloat64, unpackInt32 } from '../../schemas/packed';
import { derivedEventId } from '../runtime/ids';
import { ackCounts, foldAck, foldOffence, fromAvro, healTally, NO_ACKS, quarantined, toAvro, type AckTally } from './ack-fold';
import {
  OFFLINE_AFTER_MS, WINDOW_SIZE, degradedThreshold, driftCoefficient, impedanceScore, missedHeartbeats, p50, scoreOf,
  addHeartbeat, recordHeartbeat, reliability, type ReliabilityBucket,
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
  /** Utilisation of the last heartbeat (0..1), null when it reported none: orders routing (load.ts). */
  readonly utilisation: number | null;
  readonly buckets: readonly ReliabilityBucket[];
  /** Event time (µs) of the last heartbeat folded in, and its event id. */
  readonly lastHeartbeatAt: number;
  readonly lastHeartbeatEventId: string;
  /** The offline timer fired and no heartbeat came since (the state may still say QUARANTINED). */
  readonly offline: boolean;
  /** Heartbeats folded + offline timeouts: the heartbeat side of the revision. */
  readonly hRevision: number;
  readonly acks: AckTally;
  readonly state: AgentOperationalState;
  /** hRevision + acks folded: the changelog's meta.sequence and the registry's write guard. */
  readonly revision: number;
  /** Event time (µs) of the last change: a heartbeat, an ack, the offline timer, a release. */
  readonly updatedAt: number;
  // Derived from the above, kept so readers need not recompute.
  readonly latencyMs: number;
  readonly processingMs: number;
  readonly drift: number;
  readonly reliability: number;
  readonly score: number;
}

type Measured = Pick<AgentState, 'latencyMs' | 'processingMs' | 'drift' | 'reliability' | 'score'>;

function measure(latencies: readonly number[], processings: readonly number[], queueDepth: number, buckets: readonly ReliabilityBucket[], acks: AckTally, atUs: number): Measured {
  const latencyMs = p50(latencies);
  const processingMs = p50(processings);
  const drift = driftCoefficient(latencies);
  const atMs = Math.floor(atUs / US_PER_MS);
  const rel = reliability(buckets, atMs, acks === NO_ACKS ? undefined : ackCounts(acks, atMs));
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

/** window() in place. */
function slide(xs: number[], x: number): number[] {
  // shift(), not splice(): splice returns an array of what it removed, one per heartbeat.
  while (xs.length > WINDOW_SIZE) xs.shift();
  const n = xs.length;
  if (n < WINDOW_SIZE) {
    xs.push(x);
    return xs;
  }
  // A full window moves down by hand: shift() trims the array's store at the front, and the
  // push() after it then grew a new store every few heartbeats.
  for (let i = 1; i < n; i++) xs[i - 1] = xs[i]!;
  xs[n - 1] = x;
  return xs;
}

/** `xs` overwritten with the values of `from` (no new array: see foldHeartbeat's `spare`). */
function copyInto<T>(xs: T[], from: readonly T[]): T[] {
  const n = from.length;
  if (xs.length > n) xs.length = n;
  for (let i = 0; i < xs.length; i++) xs[i] = from[i]!;
  for (let i = xs.length; i < n; i++) xs.push(from[i]!);
  return xs;
}

/** Whether `xs` (sorted) holds the same capabilities as `ys` in any order: the common case is the same list. */
export function sameList(xs: readonly string[], ys: readonly string[]): boolean {
  const n = xs.length;
  if (n !== ys.length) return false;
  let i = 0;
  while (i < n && xs[i] === ys[i]) i++;
  if (i === n) return true;
  // Agents need not sort their capabilities: a short list is compared as a multiset without
  // the copy and sort per heartbeat.
  if (n > 8) return [...ys].sort().every((y, j) => y === xs[j]);
  for (let j = i; j < n; j++) if (count(xs, ys[j]!) !== count(ys, ys[j]!)) return false;
  return true;
}

function count(xs: readonly string[], x: string): number {
  let c = 0;
  for (let i = 0; i < xs.length; i++) if (xs[i] === x) c++;
  return c;
}

/**
 * The operational state from both folds at watermark `atUs`: held in quarantine (ack-fold.ts),
 * else offline (the timer fired), else by score.
 */
function stateOf(offline: boolean, acks: AckTally, atUs: number, cls: AgentClass, score: number): AgentOperationalState {
  if (quarantined(acks, atUs)) return 'QUARANTINED';
  if (offline) return 'OFFLINE';
  return score > degradedThreshold(cls) ? 'DEGRADED' : 'ACTIVE';
}

/** Event time of the last change, from both folds (the same whatever the interleaving). */
function lastChangeAt(lastHeartbeatAt: number, offline: boolean, acks: AckTally, atUs: number): number {
  let t = offline ? lastHeartbeatAt + OFFLINE_AFTER_US : lastHeartbeatAt;
  if (acks.lastAckAt !== null && acks.lastAckAt > t) t = acks.lastAckAt;
  const until = acks.quarantinedUntil;
  if (until !== null && until <= atUs && until > t) t = until;
  return t;
}

/** Recomputes the derived fields after the acks or the watermark changed. */
function rederive(a: AgentState, acks: AckTally, offline: boolean, hRevision: number, atUs: number): AgentState {
  const m = measure(a.latencies, a.processings, a.queueDepth, a.buckets, acks, a.lastHeartbeatAt);
  return {
    ...a, ...m, acks, offline, hRevision, revision: hRevision + acks.count,
    state: stateOf(offline, acks, atUs, a.agentClass, m.score),
    updatedAt: lastChangeAt(a.lastHeartbeatAt, offline, acks, atUs),
  };
}

const scoreCause = (state: AgentOperationalState, score: number): AgentStateCause =>
  state === 'ACTIVE' ? 'RECOVERED' : score > 800 ? 'HIGH_IMPEDANCE' : 'IMPEDANCE_SPIKE';
const scoreDetail = (a: AgentState) => `impedance ${a.score.toFixed(1)} (threshold ${degradedThreshold(a.agentClass).toFixed(1)}), reliability ${a.reliability.toFixed(3)}`;

export interface HeartbeatOutcome {
  readonly agent: AgentState;
  /** Present when the operational state changed (not on an agent's first heartbeat). */
  readonly changed?: AgentStateChanged;
}

/**
 * Folds one heartbeat. Returns undefined when it is not newer than the last one folded in:
 * a replayed or duplicated heartbeat counts once.
 *
 * With `reuse` (which must be `prev`), the result is written over `prev`, its windows and
 * buckets array included, instead of into new ones: PartitionFold passes a state it made in the
 * batch under way that nothing else keeps (its undo log holds the state before the batch). An
 * agent heartbeats several times per batch when catching up, and each state kept a few hundred
 * bytes alive until the next one, long enough to be copied out of the young generation.
 * Without `reuse`, `spare` (a state of any agent that nothing holds any more, arrays included)
 * is written over instead of making a new state: the result is the same values, without the
 * ~600 bytes per heartbeat that otherwise live until the agent's next heartbeat.
 */
export function foldHeartbeat(prev: AgentState | undefined, hb: HeartbeatReceived, watermarkUs = hb.meta.occurred_at, pendingAcks: AckTally = NO_ACKS, reuse?: AgentState, spare?: AgentState): HeartbeatOutcome | undefined {
  const at = hb.meta.occurred_at;
  if (prev && at <= prev.lastHeartbeatAt) return undefined;
  const gapMs = prev ? (at - prev.lastHeartbeatAt) / US_PER_MS : 0;
  const inPlace = reuse !== undefined && reuse === prev;
  // The state written over: prev itself, a spare, or none (a new one).
  const into = inPlace ? prev : prev && spare ? spare : undefined;
  const atMs = Math.floor(at / US_PER_MS);
  let latencies: number[];
  let processings: number[];
  let buckets: ReliabilityBucket[];
  if (inPlace) {
    latencies = slide(prev.latencies as number[], hb.latency_ms);
    processings = slide(prev.processings as number[], hb.processing_ms);
    buckets = prev.buckets as ReliabilityBucket[];
    // The last bucket of a state made in the batch is its own: the copy that made the state
    // (recordHeartbeat) replaced or added it, and only this agent's heartbeats since changed it.
    addHeartbeat(buckets, atMs, missedHeartbeats(gapMs), true);
  } else if (into) {
    latencies = slide(copyInto(into.latencies as number[], prev!.latencies), hb.latency_ms);
    processings = slide(copyInto(into.processings as number[], prev!.processings), hb.processing_ms);
    // The bucket objects are prev's: the last one is replaced, not changed (as recordHeartbeat does).
    buckets = copyInto(into.buckets as ReliabilityBucket[], prev!.buckets);
    addHeartbeat(buckets, atMs, missedHeartbeats(gapMs));
  } else {
    latencies = window(prev?.latencies ?? [], hb.latency_ms);
    processings = window(prev?.processings ?? [], hb.processing_ms);
    buckets = recordHeartbeat(prev?.buckets ?? [], atMs, missedHeartbeats(gapMs));
  }
  const acks = prev?.acks ?? pendingAcks;
  // measure() inline: no object per heartbeat for the measured values and the score inputs.
  const latencyMs = p50(latencies);
  const processingMs = p50(processings);
  const drift = driftCoefficient(latencies);
  const rel = reliability(buckets, atMs, acks === NO_ACKS ? undefined : ackCounts(acks, atMs));
  const score = scoreOf(latencyMs, processingMs, hb.queue_depth, drift, rel);
  const seenAt = Math.max(watermarkUs, at);
  const state = stateOf(false, acks, seenAt, hb.agent_class, score);
  const hRevision = (prev?.hRevision ?? 0) + 1;
  const previous = prev?.state;
  const capabilities = prev && sameList(prev.capabilities, hb.capabilities) ? prev.capabilities : [...hb.capabilities].sort();
  let next: AgentState;
  if (into) {
    // Field by field: a new state object copied over `into` (Object.assign) cost as much as the
    // fold. Strings equal to prev's are kept from it, so the decoded ones die young.
    const a = into as Mutable<AgentState>;
    a.agentId = prev!.agentId;
    a.agentClass = hb.agent_class;
    a.sectorId = prev!.sectorId === hb.sector_id ? prev!.sectorId : hb.sector_id;
    a.clusterId = prev!.clusterId === hb.cluster_id ? prev!.clusterId : hb.cluster_id;
    a.capabilities = capabilities;
    a.contextHash = prev!.contextHash === hb.context_hash ? prev!.contextHash : hb.context_hash;
    a.latencies = latencies;
    a.processings = processings;
    a.queueDepth = hb.queue_depth;
    a.utilisation = hb.utilisation ?? null;
    a.buckets = buckets;
    a.lastHeartbeatAt = at;
    a.lastHeartbeatEventId = hb.meta.event_id;
    a.offline = false;
    a.hRevision = hRevision;
    a.acks = acks;
    a.state = state;
    a.revision = hRevision + acks.count;
    a.updatedAt = lastChangeAt(at, false, acks, seenAt);
    a.latencyMs = latencyMs;
    a.processingMs = processingMs;
    a.drift = drift;
    a.reliability = rel;
    a.score = score;
    next = a;
  } else {
    // Strings equal to the previous state's are kept from it, so the decoded ones die young.
    next = {
      agentId: prev && prev.agentId === hb.agent_id ? prev.agentId : hb.agent_id,
      agentClass: hb.agent_class,
      sectorId: prev && prev.sectorId === hb.sector_id ? prev.sectorId : hb.sector_id,
      clusterId: prev && prev.clusterId === hb.cluster_id ? prev.clusterId : hb.cluster_id,
      capabilities,
      contextHash: prev && prev.contextHash === hb.context_hash ? prev.contextHash : hb.context_hash,
      latencies,
      processings,
      queueDepth: hb.queue_depth,
      utilisation: hb.utilisation ?? null,
      buckets,
      lastHeartbeatAt: at,
      lastHeartbeatEventId: hb.meta.event_id,
      offline: false,
      hRevision,
      acks,
      state,
      revision: hRevision + acks.count,
      updatedAt: lastChangeAt(at, false, acks, seenAt),
      latencyMs,
      processingMs,
      drift,
      reliability: rel,
      score,
    };
  }
  if (previous === undefined || previous === state) return { agent: next };
  const cause: AgentStateCause = previous === 'OFFLINE' ? 'HEARTBEAT_RESUMED' : scoreCause(state, score);
  return { agent: next, changed: stateChanged(previous, next, cause, hb.meta.event_id, at, scoreDetail(next)) };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The offline timer: no heartbeat for 30 s of event time. Undefined if it is not due or moot.
 * It fires for a quarantined agent too (no state change then), so the heartbeat side of the
 * agent does not depend on when its acks were folded.
 */
export function timeoutAgent(agent: AgentState, watermarkUs: number): HeartbeatOutcome | undefined {
  const due = agent.lastHeartbeatAt + OFFLINE_AFTER_US;
  if (agent.offline || watermarkUs < due) return undefined;
  const next = rederive(agent, agent.acks, true, agent.hRevision + 1, watermarkUs);
  if (next.state === agent.state) return { agent: next };
  return { agent: next, changed: stateChanged(agent.state, next, 'HEARTBEAT_TIMEOUT', agent.lastHeartbeatEventId, due, `no heartbeat for ${OFFLINE_AFTER_MS / 1000} s`) };
}

/**
 * Folds one ack (from offset `offset` of the agent's mesh.agent-acks partition) at watermark
 * `watermarkUs`. Undefined when it was folded before.
 */
export function foldAgentAck(agent: AgentState, ack: AckReceived, offset: number, watermarkUs: number): HeartbeatOutcome | undefined {
  const acks = foldAck(agent.acks, ack, offset);
  return acks ? withTally(agent, acks, ack, watermarkUs) : undefined;
}

/** Folds a report copied onto the agent's mesh.agent-acks partition: an own-key offence counts (ack-fold.ts Q3). */
export function foldAgentOffence(agent: AgentState, report: ConflictReported, offset: number, watermarkUs: number): HeartbeatOutcome | undefined {
  const acks = foldOffence(agent.acks, report, offset);
  return acks ? withTally(agent, acks, report, watermarkUs) : undefined;
}

function withTally(agent: AgentState, acks: AckTally, ack: AckReceived | ConflictReported, watermarkUs: number): HeartbeatOutcome {
  const next = rederive(agent, acks, agent.offline, agent.hRevision, watermarkUs);
  if (next.state === agent.state) return { agent: next };
  const cause: AgentStateCause = next.state === 'QUARANTINED' ? acks.quarantineCause ?? 'BYZANTINE_BEHAVIOR' : scoreCause(next.state, next.score);
  const detail = next.state === 'QUARANTINED' ? `${acks.quarantineDetail ?? ''}; held until ${new Date((acks.quarantinedUntil ?? 0) / 1000).toISOString()}` : scoreDetail(next);
  const at = next.state === 'QUARANTINED' ? acks.quarantinedAt ?? ack.meta.occurred_at : ack.meta.occurred_at;
  return { agent: next, changed: stateChanged(agent.state, next, cause, ack.meta.event_id, at, detail) };
}

/**
 * An operator's heal: the agent's quarantine released and its conflict streak reset now (the
 * heal's event time `atUs`), whatever the hold left. Undefined when there is nothing to reset.
 */
export function healAgent(agent: AgentState, heal: MeshHealRequested, offset: number, watermarkUs: number): HeartbeatOutcome | undefined {
  const acks = healTally(agent.acks, offset);
  if (!acks) return undefined;
  const next = rederive(agent, acks, agent.offline, agent.hRevision, watermarkUs);
  if (next.state === agent.state) return { agent: next };
  const changed = stateChanged(agent.state, next, 'OPERATOR', heal.meta.event_id, heal.meta.occurred_at,
    `quarantine (${agent.acks.quarantineCause ?? 'unknown'}) released by ${heal.operator}'s heal${heal.detail ? `: ${heal.detail}` : ''}`);
  // One heal changes many agents: each change needs an id of its own.
  return { agent: next, changed: { ...changed, meta: { ...changed.meta, event_id: derivedEventId(heal.meta.event_id, `heal:${agent.agentId}`) } } };
}

/** The quarantine release timer: the watermark reached quarantined_until. Undefined if not due or moot. */
export function releaseAgent(agent: AgentState, watermarkUs: number): HeartbeatOutcome | undefined {
  const until = agent.acks.quarantinedUntil;
  if (until === null || watermarkUs < until || agent.state !== 'QUARANTINED') return undefined;
  const next = rederive(agent, agent.acks, agent.offline, agent.hRevision, watermarkUs);
  const cause: AgentStateCause = next.state === 'OFFLINE' ? 'HEARTBEAT_TIMEOUT' : 'RECOVERED';
  return { agent: next, changed: stateChanged(agent.state, next, cause, agent.lastHeartbeatEventId, until, `quarantine (${agent.acks.quarantineCause ?? 'unknown'}) released after its hold`) };
}

function stateChanged(previous: AgentOperationalState, next: AgentState, cause: AgentStateCause, causationId: string, atUs: number, detail: string): AgentStateChanged {
  return {
    type: 'AgentStateChanged',
    // Releases do not bump the revision: the new state tells the events apart.
    meta: meta(derivedEventId(causationId, `state:${next.revision}:${next.state}`), next.agentId, causationId, atUs, null),
    agent_id: next.agentId,
    sector_id: next.sectorId,
    cluster_id: next.clusterId,
    previous_state: previous,
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
export function toImpedanceUpdated(a: AgentState, appliedThrough: number | null = null, acksAppliedThrough: number | null = null): ImpedanceUpdated {
  return {
    type: 'ImpedanceUpdated',
    meta: meta(derivedEventId(a.lastHeartbeatEventId, `impedance:${a.revision}:${a.state}`), a.agentId, a.lastHeartbeatEventId, a.updatedAt, a.revision),
    agent_id: a.agentId,
    agent_class: a.agentClass,
    sector_id: a.sectorId,
    cluster_id: a.clusterId,
    current_latency_ms: a.latencyMs,
    current_processing_ms: a.processingMs,
    current_queue_depth: a.queueDepth,
    utilisation: a.utilisation,
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
    ack_tally: a.acks === NO_ACKS ? null : toAvro(a.acks),
    acks_applied_through: acksAppliedThrough,
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
  const acks = fromAvro(e.ack_tally ?? null);
  const revision = e.meta.sequence ?? 0;
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
    utilisation: e.utilisation ?? null,
    buckets,
    lastHeartbeatAt: e.last_heartbeat_at,
    lastHeartbeatEventId: e.last_heartbeat_event_id ?? e.meta.causation_id ?? e.meta.event_id,
    // A quarantined agent may also be offline: PartitionFold.restore tells from the watermark.
    offline: e.operational_state === 'OFFLINE',
    hRevision: revision - acks.count,
    acks,
    state: e.operational_state,
    revision,
    updatedAt: e.meta.occurred_at,
    latencyMs: e.current_latency_ms,
    processingMs: e.current_processing_ms,
    drift: e.drift_coefficient,
    reliability: e.reliability_score,
    score: e.impedance_score,
  };
}
