// Rebuilds one input partition's PartitionCore from the log: the newest complete partition
// snapshot, then the committed inputs after it, folded and worked like the processor does.
// Records of the three topics merge by record timestamp (per-topic order kept); the work
// outputs do not depend on the interleaving (domain.ts), only external commands' position may.
import type { KernelFactory } from '../../wasm';
import type { EventCodec } from '../runtime/codec';
import { DEFAULT_SOLVER_LIMITS, InputRejected, PRODUCER, PartitionCore, SEQUENCED_ON, type Clock, type SolverLimits } from './domain';
import { isRetriable } from '../runtime/errors';
import { committedOffsets, partitionEnds, readLog, type LogRecord } from '../runtime/kafka/log-reader';
import type { Logger } from '../runtime/logger';
import type { EventValidator } from '../runtime/processor';
import { decodedOrUndefined, recordTyper } from '../runtime/record-type';
import { sequencedId } from './outputs';
import { INPUTS, SNAPSHOTS, isSolverInput } from './processor';
import {
  SnapshotRefused, deserialize, positionsRefusal, snapshotCandidates, snapshotKey, snapshotPositions, snapshotSessionIds,
} from './snapshot';
import type { SessionSnapshotted, SolvermeshEvent } from '../../schemas/generated/events';
import { SOLVER_PARTITIONS } from '../../topics/catalog';

export interface RestoreOptions {
  readonly brokers: readonly string[];
  readonly codec: EventCodec;
  readonly topicPrefix: string;
  readonly groupId: string;
  readonly limits?: SolverLimits;
  /** Opens the kernel of each restored or assembled session. */
  readonly kernel: KernelFactory;
  readonly validate?: EventValidator;
  readonly clock?: Clock;
  /** Where refused snapshots are reported. */
  readonly logger?: Logger;
}

/** Every snapshot piece filed under this partition's keys (a piece's key, not its input partition, places it); undecodable records are passed over. */
export async function snapshotPieces(o: Pick<RestoreOptions, 'brokers' | 'codec' | 'topicPrefix'>, partition: number): Promise<SessionSnapshotted[]> {
  const mine = snapshotKey(partition, 0).split('#')[0] + '#';
  const pieces: SessionSnapshotted[] = [];
  await readLog(o.brokers, o.codec, [...Array(SOLVER_PARTITIONS).keys()].map((q) => ({ topic: o.topicPrefix + SNAPSHOTS, partition: q, from: 0 })), {
    decode: false,
    onRecord: async (r) => {
      if (!r.key?.startsWith(mine) || !r.value) return;
      let event: SolvermeshEvent;
      try {
        event = (await o.codec.decode(r.value)).event;
      } catch (err) {
        if (isRetriable(err)) throw err;
        return; // not a snapshot the solver wrote
      }
      if (event.type === 'SessionSnapshotted') pieces.push(event);
    },
  });
  return pieces;
}

/** Merges per-topic record lists by timestamp, keeping each topic's own order. */
export function mergeByTime(lists: LogRecord[][]): LogRecord[] {
  const at = lists.map(() => 0);
  const out: LogRecord[] = [];
  for (;;) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      const r = lists[i]![at[i]!];
      if (r && (best < 0 || r.timestampMs < lists[best]![at[best]!]!.timestampMs)) best = i;
    }
    if (best < 0) return out;
    out.push(lists[best]![at[best]!++]!);
  }
}

/** Folds `records` into `core` the way the processor would (check, fold, work). */
export function refold(core: PartitionCore, records: LogRecord[], prefix: string, validate?: EventValidator): void {
  for (const r of records) {
    const ev = r.event;
    if (!isSolverInput(ev)) continue;
    if (validate && validate(ev, r.timestampMs).length > 0) continue;
    try { core.check(ev, r.topic.slice(prefix.length)); } catch (err) { if (err instanceof InputRejected) continue; throw err; }
    core.fold(ev, { topic: r.topic.slice(prefix.length), partition: r.partition, offset: r.offset, eventId: ev.meta.event_id, occurredAt: ev.meta.occurred_at });
    core.work();
  }
}

/**
 * Rebuilds a partition: the newest snapshot it can trust, then the committed inputs after it.
 * A snapshot is trusted when the solver can have written it (snapshotCandidates), it claims no
 * position the group has not committed (or, offsets lost, the log does not hold), its sessions
 * are exactly those the log opened up to its position, and it restores whole (deserialize);
 * otherwise the next older one is tried, and without any the log is refolded from the start.
 */
export async function restorePartition(o: RestoreOptions, partition: number): Promise<PartitionCore> {
  const fresh = () => new PartitionCore(partition, o.limits ?? DEFAULT_SOLVER_LIMITS, o.kernel, o.clock);
  const tps = INPUTS.map((t) => ({ topic: o.topicPrefix + t, partition }));
  const [pieces, committedRaw, ends] = await Promise.all([
    snapshotPieces(o, partition), committedOffsets(o.brokers, o.groupId, tps), partitionEnds(o.brokers, tps),
  ]);
  const key = (t: string) => `${o.topicPrefix + t}/${partition}`;
  /** Next offset to consume per logical topic; undefined where the group has none (new, or its offsets were deleted). */
  const committed = Object.fromEntries(INPUTS.map((t) => [t, committedRaw.get(key(t))]).filter(([, c]) => typeof c === 'number' && c >= 0)) as Record<string, number>;
  const limits = Object.fromEntries(INPUTS.map((t) => [t, committed[t] ?? ends.get(key(t)) ?? 0]));
  const { candidates, refused } = snapshotCandidates(pieces, partition, INPUTS);
  for (const why of refused) o.logger?.warn({ partition, why }, 'snapshot piece refused');
  let core: PartitionCore | undefined;
  let opened: Array<[number, string]> | undefined;
  for (const c of candidates) {
    try {
      const why = positionsRefusal(c, limits);
      if (why) throw new SnapshotRefused(why);
      opened ??= await sessionsOpened(o, partition, limits['solver.sessions']!);
      const through = snapshotPositions(c.blob)['solver.sessions'] ?? -1;
      const inLog = new Set(opened.filter(([at]) => at <= through).map(([, id]) => id));
      const held = snapshotSessionIds(c.blob);
      const heldSet = new Set(held);
      const forged = held.find((id) => !inLog.has(id));
      const missing = [...inLog].find((id) => !heldSet.has(id));
      if (forged !== undefined || missing !== undefined || held.length !== inLog.size) {
        throw new SnapshotRefused(`its sessions are not those solver.sessions opened through offset ${through}: ${forged !== undefined ? `${forged} never opened there` : `${missing ?? 'one'} is missing`}`);
      }
      const restored = fresh();
      deserialize(c.blob, restored);
      core = restored;
      break;
    } catch (err) {
      if (!(err instanceof SnapshotRefused)) throw err;
      o.logger?.warn({ partition, snapshot: c.snapshotId, why: err.message }, 'snapshot refused: trying an older one, else refolding the log');
    }
  }
  const into = core ?? fresh();
  // Originals are met again only on a topic without a committed offset that holds records past the restored position.
  const reread = INPUTS.some((t) => t !== SEQUENCED_ON && committed[t] === undefined && (ends.get(key(t)) ?? 0) > (into.folded[t] ?? -1) + 1);
  if (reread) await markSequenced(o, into, partition, ends.get(key(SEQUENCED_ON)) ?? 0);
  const lists = await Promise.all(INPUTS.map(async (t) => {
    const to = committed[t] ?? -1;
    const from = (into.folded[t] ?? -1) + 1;
    if (to <= from) return [];
    return readLog(o.brokers, o.codec, [{ topic: o.topicPrefix + t, partition, from, to }]);
  }));
  refold(into, mergeByTime(lists), o.topicPrefix, o.validate);
  return into;
}

/** [offset, session id] of every SessionOpened the solver folds on this partition of solver.sessions below `to`. */
async function sessionsOpened(o: RestoreOptions, partition: number, to: number): Promise<Array<[number, string]>> {
  const typeOf = recordTyper(o.codec);
  const out: Array<[number, string]> = [];
  await readLog(o.brokers, o.codec, [{ topic: o.topicPrefix + 'solver.sessions', partition, from: 0, to }], {
    decode: false,
    onRecord: async (r) => {
      // Chunks are most of the topic's bytes: only the opens are decoded.
      if (!r.value || (await typeOf(r.value)) !== 'SessionOpened') return;
      const e = await decodedOrUndefined(o.codec, r.value);
      // What the runner dead-letters never reached the fold.
      if (e?.type !== 'SessionOpened' || r.key !== e.session_id || (o.validate && o.validate(e, r.timestampMs).length > 0)) return;
      out.push([r.offset, e.session_id]);
    },
  });
  return out;
}

/**
 * With a committed offset missing (a new group, or its offsets were deleted), the consumer
 * starts from the beginning and meets again commands whose copies the previous run already
 * sequenced onto solver.costs after the restored position: those copies are found here, so the
 * commands are not copied (and applied) a second time.
 */
async function markSequenced(o: RestoreOptions, core: PartitionCore, partition: number, end: number): Promise<void> {
  const from = (core.folded[SEQUENCED_ON] ?? -1) + 1;
  if (end <= from) return;
  const typeOf = recordTyper(o.codec);
  await readLog(o.brokers, o.codec, [{ topic: o.topicPrefix + SEQUENCED_ON, partition, from, to: end }], {
    decode: false,
    onRecord: async (r) => {
      const type = r.value ? await typeOf(r.value) : undefined;
      if (!type || type === 'CostUpdated' || type === 'IterationSliceGranted') return;
      const e = await decodedOrUndefined(o.codec, r.value!);
      if (e && isSolverInput(e) && e.meta.producer === PRODUCER && e.meta.causation_id && e.meta.event_id === sequencedId(e.meta.causation_id)) core.markSequenced(e.meta.causation_id);
    },
  });
}
