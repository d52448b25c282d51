// The acks of one agent, folded in the order of its mesh.agent-acks partition (pure).
//
// Reliability (seed 002 §2.3 reliability_score "historical success rate", §4.1
// success_rate_last_hour): an ack is a delivery outcome.
//   READY arriving by T + 500 ms (§3.2 scatter_gather arrival_window_ms)  -> on time (success)
//   READY arriving later (§3.2 "stragglers")                              -> late (failure)
//   READY without a known T                                               -> on time (it got through)
//   TRANSIT (0: outcome unknown, §1.4) and CONFLICT (-1: "not failure. It's information", §1.4,
//   §5.1 "Don't count as failure")                                        -> not counted
//
// Quarantine (seed 002 §2.3 operational_state 'quarantined'; §6.1 failure classes whose recovery
// is "Quarantine agent"; §9.2 rogue_agent):
//   Q1 §6.1 CONTEXT_CORRUPTION ("Hash mismatch on context verification", escalation "Immediate"):
//      a CONFLICT ack of type HASH_MISMATCH quarantines at once.
//   Q2 §6.1 BYZANTINE_BEHAVIOR ("Outputs contradict multiple other agents"), with §6.1's
//      escalation threshold of "3 consecutive failures": 3 CONFLICT acks in a row in the agent's
//      partition order (READY ends the streak, TRANSIT leaves it) quarantine, from the latest
//      event time among the three (acks of different messages arrive in any event-time order).
//   Q3 §9.2 rogue_agent ("behavior anomaly" -> "Quarantine"): messages refused that only the
//      agent could have signed (ForgeryEvidence.own_key: a payload_hash other than the one sent
//      under its verified signature, a sequence reused for a newer message), copied onto
//      mesh.agent-acks as ConflictReported: OWN_KEY_OFFENCE_LIMIT (3, §6.1's "3 consecutive
//      failures") of them within OWN_KEY_OFFENCE_WINDOW_MS of event time quarantine, from the
//      latest. Forgeries by others (bad signature, unknown key, unsigned) are never copied here.
//   Release: QUARANTINE_HOLD_MS of event time after the conflict that quarantined (§6.2's
//      breaker isolation before a probe; "Still failing, extend isolation": a CONFLICT ack
//      while quarantined, by its own event time, extends the hold from that ack). The fold of
//      the partition releases the agent when its event-time watermark reaches quarantined_until.
//
// Prediction accuracy (seed 002 §11.1, accuracy.ts): an ack taken is counted in the tally's
// cells, by its event time: measured against its predicted arrival (expected_arrival_at, which the
// ack reactor filled in on the copy) when it is the agent's first word that the message arrived
// (READY or CONFLICT; a TRANSIT has not), and a conflict when it is one. So a re-sent ack, or one
// of a tail replayed, counts nothing: the tally's offset and recent ids refuse it.
//
// Everything here depends only on this agent's acks in partition order, never on how they
// interleave with heartbeats: the agent fold combines the two (agent-fold.ts), so a new owner
// replaying both tails in another interleaving reaches the same state.
import type { AckReceived, AgentAckTally, AgentStateCause, ConflictReported } from '../../schemas/generated/events';
import { OWN_KEY_FORGERY_LIMIT } from '../identity/abuse';
import { packInt32, unpackInt32 } from '../../schemas/packed';
import { RELIABILITY_BUCKETS, RELIABILITY_BUCKET_MS } from './score';
import { accuracyBucketOf, cellsOf, countAck, measureArrival, NO_CELLS, type AccuracyCells, type AckCount } from './accuracy';

export const ARRIVAL_WINDOW_MS = 500;
export const CONFLICT_STREAK_LIMIT = 3;
export const QUARANTINE_HOLD_MS = 60_000;
/** Message ids remembered per agent against re-sent acks. */
export const RECENT_ACKS = 16;
/** Own-key offences that quarantine the agent when they fall within OWN_KEY_OFFENCE_WINDOW_MS of event time. */
export const OWN_KEY_OFFENCE_LIMIT = OWN_KEY_FORGERY_LIMIT;
/** One hour: the seed's reliability horizon (§4.1 success_rate_last_hour). */
export const OWN_KEY_OFFENCE_WINDOW_MS = 3_600_000;

export interface AckBucket {
  /** floor(event time ms / RELIABILITY_BUCKET_MS). */
  readonly index: number;
  readonly onTime: number;
  readonly late: number;
}

export type QuarantineCause = Extract<AgentStateCause, 'CONTEXT_CORRUPTION' | 'BYZANTINE_BEHAVIOR'>;

export interface AckTally {
  readonly buckets: readonly AckBucket[];
  readonly count: number;
  readonly conflictStreak: number;
  /** Latest event time among the streak's conflicts: acks of different messages come in any event-time order. */
  readonly conflictStreakAt: number | null;
  readonly quarantinedAt: number | null;
  readonly quarantinedUntil: number | null;
  readonly quarantineCause: QuarantineCause | null;
  readonly quarantineDetail: string | null;
  readonly recent: readonly string[];
  readonly lastOffset: number;
  readonly lastAckAt: number | null;
  /** Event times of the own-key offences inside the window (ascending, fewer than the limit). */
  readonly offences: readonly number[];
  /** Prediction accuracy of the acks taken (accuracy.ts). */
  readonly accuracy: AccuracyCells;
}

export const NO_ACKS: AckTally = {
  buckets: [], count: 0, conflictStreak: 0, conflictStreakAt: null, quarantinedAt: null, quarantinedUntil: null, quarantineCause: null,
  quarantineDetail: null, recent: [], lastOffset: -1, lastAckAt: null, offences: [], accuracy: NO_CELLS,
};

export type AckOutcome = 'on_time' | 'late' | 'uncounted';

export function ackOutcome(ack: AckReceived): AckOutcome {
  if (ack.state !== 'READY') return 'uncounted';
  if (ack.expected_arrival_at === null) return 'on_time';
  return ack.actual_arrival_at <= ack.expected_arrival_at + ARRIVAL_WINDOW_MS * 1000 ? 'on_time' : 'late';
}

/** Whether the agent is held in quarantine at event time `atUs`. */
export function quarantined(t: AckTally, atUs: number): boolean {
  return t.quarantinedUntil !== null && atUs < t.quarantinedUntil;
}

function addToBucket(buckets: readonly AckBucket[], atMs: number, outcome: AckOutcome): readonly AckBucket[] {
  if (outcome === 'uncounted') return buckets;
  const index = Math.floor(atMs / RELIABILITY_BUCKET_MS);
  const newest = Math.max(index, buckets.reduce((m, b) => Math.max(m, b.index), -Infinity));
  // An hour behind this agent's newest ack is history: dropped (the same whatever the order).
  if (index <= newest - RELIABILITY_BUCKETS) return buckets;
  const out = buckets.filter((b) => b.index > newest - RELIABILITY_BUCKETS && b.index !== index);
  const old = buckets.find((b) => b.index === index);
  out.push({ index, onTime: (old?.onTime ?? 0) + (outcome === 'on_time' ? 1 : 0), late: (old?.late ?? 0) + (outcome === 'late' ? 1 : 0) });
  return out.sort((a, b) => a.index - b.index);
}

/** What `ack` adds to prediction accuracy when `t` takes it (see the header). */
export function accuracyOf(t: AckTally, ack: AckReceived): AckCount {
  const arrived = ack.state !== 'TRANSIT';
  const told = arrived && (t.recent.includes(`${ack.message_id}:READY`) || t.recent.includes(`${ack.message_id}:CONFLICT`));
  const measure = arrived && !told && ack.expected_arrival_at !== null ? measureArrival(ack.actual_arrival_at, ack.expected_arrival_at) : null;
  return { bucket: accuracyBucketOf(ack.meta.occurred_at), measure, conflict: ack.state === 'CONFLICT' };
}

/**
 * Folds one ack found at `offset` of the agent's mesh.agent-acks partition. Returns undefined
 * when it was folded before (at or below the last offset: a replayed tail) or re-sent (its
 * message id and state among the recent ones).
 */
export function foldAck(t: AckTally, ack: AckReceived, offset: number): AckTally | undefined {
  // An agent may say TRANSIT and later READY about one message: both count, a re-send does not.
  const id = `${ack.message_id}:${ack.state}`;
  if (offset <= t.lastOffset || t.recent.includes(id)) return undefined;
  const at = ack.meta.occurred_at;
  const recent = t.recent.length >= RECENT_ACKS ? [...t.recent.slice(t.recent.length - RECENT_ACKS + 1), id] : [...t.recent, id];
  let next: AckTally = {
    ...t,
    buckets: addToBucket(t.buckets, Math.floor(at / 1000), ackOutcome(ack)),
    count: t.count + 1,
    recent,
    lastOffset: offset,
    lastAckAt: t.lastAckAt === null ? at : Math.max(t.lastAckAt, at),
    accuracy: countAck(t.accuracy, accuracyOf(t, ack)),
  };
  if (ack.state === 'READY') return { ...next, conflictStreak: 0, conflictStreakAt: null };
  if (ack.state !== 'CONFLICT') return next;
  const streak = t.conflictStreak + 1;
  const streakAt = Math.max(t.conflictStreakAt ?? at, at);
  const type = ack.conflict?.conflict_type ?? 'UNKNOWN';
  const held = quarantined(t, at);
  let cause: QuarantineCause | null = null;
  let detail = '';
  // The quarantine starts when its last conflict happened (event time), not when it was folded.
  let from = at;
  if (type === 'HASH_MISMATCH') { cause = 'CONTEXT_CORRUPTION'; detail = `HASH_MISMATCH on message ${ack.message_id}`; }
  else if (streak >= CONFLICT_STREAK_LIMIT) { cause = 'BYZANTINE_BEHAVIOR'; from = streakAt; detail = `${streak} CONFLICT acks in a row (last ${type} on message ${ack.message_id})`; }
  else if (held) { cause = t.quarantineCause; detail = `CONFLICT ${type} while quarantined (message ${ack.message_id})`; }
  next = { ...next, conflictStreak: streak, conflictStreakAt: streakAt };
  if (cause === null) return next;
  const until = from + QUARANTINE_HOLD_MS * 1000;
  return {
    ...next,
    // A new quarantine restarts the count; one extended keeps its start.
    conflictStreak: 0,
    conflictStreakAt: null,
    quarantinedAt: held ? t.quarantinedAt : from,
    quarantinedUntil: Math.max(until, t.quarantinedUntil ?? until),
    quarantineCause: cause,
    quarantineDetail: detail,
  };
}

/**
 * Folds a report found at `offset` of the agent's mesh.agent-acks partition: counted when it is an
 * own-key offence (ForgeryEvidence.own_key). Undefined when folded before (by offset, or its
 * conflict id among the recent ones: the coordinator and impedance may both copy one refusal) or
 * not an own-key offence.
 */
export function foldOffence(t: AckTally, report: ConflictReported, offset: number): AckTally | undefined {
  const id = `own-key:${report.conflict_id}`;
  if (report.forgery?.own_key !== true || offset <= t.lastOffset || t.recent.includes(id)) return undefined;
  const at = report.meta.occurred_at;
  const recent = t.recent.length >= RECENT_ACKS ? [...t.recent.slice(t.recent.length - RECENT_ACKS + 1), id] : [...t.recent, id];
  const all = [...t.offences, at].sort((a, b) => a - b);
  const newest = all[all.length - 1]!;
  const within = all.filter((x) => x > newest - OWN_KEY_OFFENCE_WINDOW_MS * 1000);
  const next: AckTally = { ...t, count: t.count + 1, recent, lastOffset: offset, offences: within.slice(-(OWN_KEY_OFFENCE_LIMIT - 1)) };
  if (within.length < OWN_KEY_OFFENCE_LIMIT) return next;
  const held = quarantined(t, newest);
  const until = newest + QUARANTINE_HOLD_MS * 1000;
  return {
    ...next,
    offences: [],
    quarantinedAt: held ? t.quarantinedAt : newest,
    quarantinedUntil: Math.max(until, t.quarantinedUntil ?? until),
    quarantineCause: 'BYZANTINE_BEHAVIOR',
    quarantineDetail: `${within.length} messages refused within ${OWN_KEY_OFFENCE_WINDOW_MS / 60_000} min that only its own key could have signed (last ${report.forgery.reason} on ${report.forgery.event_type} ${report.message_id})`,
  };
}

/**
 * An operator's heal (MeshHealRequested, seed 002 §7.1 `heal`), at its place among the agent's
 * acks: the quarantine is released and the conflict streak starts again; what the acks measured
 * (reliability buckets, the recent ids against re-sends) is history and stays. Undefined when
 * there is nothing to reset, or the heal (at `offset` of the agent's partition) was folded before.
 */
export function healTally(t: AckTally, offset: number): AckTally | undefined {
  // An ack after the heal's offset was folded: so was the heal (a replayed tail).
  if (offset <= t.lastOffset || (t.quarantinedUntil === null && t.conflictStreak === 0 && t.offences.length === 0)) return undefined;
  return {
    ...t, conflictStreak: 0, conflictStreakAt: null, quarantinedAt: null, quarantinedUntil: null, quarantineCause: null, quarantineDetail: null, lastOffset: offset, offences: [],
  };
}

/** Acks on time and late within the hour before `atMs` (buckets newer than it count too). */
export function ackCounts(t: AckTally, atMs: number): { onTime: number; late: number } {
  const index = Math.floor(atMs / RELIABILITY_BUCKET_MS);
  let onTime = 0;
  let late = 0;
  for (const b of t.buckets) {
    if (b.index <= index - RELIABILITY_BUCKETS) continue;
    onTime += b.onTime;
    late += b.late;
  }
  return { onTime, late };
}

/** The changelog form (ImpedanceUpdated.ack_tally) and back. */
export function toAvro(t: AckTally): AgentAckTally {
  const out = new Int32Array(t.buckets.length * 3);
  t.buckets.forEach((b, i) => { out[3 * i] = b.index; out[3 * i + 1] = b.onTime; out[3 * i + 2] = b.late; });
  return {
    buckets: packInt32(out), count: t.count, conflict_streak: t.conflictStreak, conflict_streak_at: t.conflictStreakAt, quarantined_at: t.quarantinedAt,
    quarantined_until: t.quarantinedUntil, quarantine_cause: t.quarantineCause, quarantine_detail: t.quarantineDetail,
    recent_message_ids: [...t.recent], last_offset: t.lastOffset, last_ack_at: t.lastAckAt, own_key_offences: t.offences.length === 0 ? null : [...t.offences],
    accuracy: t.accuracy.length === 0 ? null : packInt32(t.accuracy),
  };
}

export function fromAvro(a: AgentAckTally | null): AckTally {
  if (!a) return NO_ACKS;
  const raw = unpackInt32(a.buckets ?? Buffer.alloc(0));
  const buckets: AckBucket[] = [];
  for (let i = 0; i + 2 < raw.length; i += 3) buckets.push({ index: raw[i]!, onTime: raw[i + 1]!, late: raw[i + 2]! });
  const cause = a.quarantine_cause === 'CONTEXT_CORRUPTION' || a.quarantine_cause === 'BYZANTINE_BEHAVIOR' ? a.quarantine_cause : null;
  return {
    buckets, count: a.count, conflictStreak: a.conflict_streak, conflictStreakAt: a.conflict_streak_at, quarantinedAt: a.quarantined_at, quarantinedUntil: a.quarantined_until,
    quarantineCause: cause, quarantineDetail: a.quarantine_detail, recent: [...a.recent_message_ids], lastOffset: a.last_offset, lastAckAt: a.last_ack_at,
    offences: [...(a.own_key_offences ?? [])], accuracy: a.accuracy ? cellsOf(unpackInt32(a.accuracy)) : NO_CELLS,
  };
}
