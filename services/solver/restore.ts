// Rebuilds one input partition's PartitionCore from the log: the newest complete partition
// snapshot, then the committed inputs after it, folded and worked like the processor does.
// Records of the three topics merge by record timestamp (per-topic order kept); the work
// outputs do not depend on the interleaving (domain.ts), only external commands' position may.
import type { KernelFactory } from '../../wasm';
import type { EventCodec } from '../runtime/codec';
import { DEFAULT_SOLVER_LIMITS, InputRejected, PartitionCore, type Clock, type SolverLimits } from './domain';
import { committedOffsets, readLog, type LogRecord } from '../runtime/kafka/log-reader';
import type { EventValidator } from '../runtime/processor';
import { INPUTS, SNAPSHOTS, isSolverInput } from './processor';
import { assembleLatest, deserialize, partitionSessionId, snapshotKey } from './snapshot';
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
}

export async function latestSnapshot(o: Pick<RestoreOptions, 'brokers' | 'codec' | 'topicPrefix'>, partition: number): Promise<Buffer | undefined> {
  // Every snapshot partition is read (a piece's key, not its input partition, places it), but
  // only this partition's pieces are decoded: the others are other partitions' state.
  const mine = snapshotKey(partition, 0).split('#')[0] + '#';
  const events: SolvermeshEvent[] = [];
  await readLog(o.brokers, o.codec, [...Array(SOLVER_PARTITIONS).keys()].map((q) => ({ topic: o.topicPrefix + SNAPSHOTS, partition: q, from: 0 })), {
    decode: false,
    onRecord: async (r) => { if (r.key?.startsWith(mine)) events.push((await o.codec.decode(r.value)).event); },
  });
  const id = partitionSessionId(partition);
  const pieces = events.filter((e): e is SessionSnapshotted => e.type === 'SessionSnapshotted' && e.session_id === id);
  return assembleLatest(pieces);
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
    if (validate && validate(ev).length > 0) continue;
    try { core.check(ev, r.topic.slice(prefix.length)); } catch (err) { if (err instanceof InputRejected) continue; throw err; }
    core.fold(ev, { topic: r.topic.slice(prefix.length), partition: r.partition, offset: r.offset, eventId: ev.meta.event_id, occurredAt: ev.meta.occurred_at });
    core.work();
  }
}

export async function restorePartition(o: RestoreOptions, partition: number): Promise<PartitionCore> {
  const core = new PartitionCore(partition, o.limits ?? DEFAULT_SOLVER_LIMITS, o.kernel, o.clock);
  const [snap, committed] = await Promise.all([
    latestSnapshot(o, partition),
    committedOffsets(o.brokers, o.groupId, INPUTS.map((t) => ({ topic: o.topicPrefix + t, partition }))),
  ]);
  if (snap) deserialize(snap, core);
  const lists = await Promise.all(INPUTS.map(async (t) => {
    const to = committed.get(`${o.topicPrefix + t}/${partition}`) ?? -1;
    const from = (core.folded[t] ?? -1) + 1;
    if (to <= from) return [];
    return readLog(o.brokers, o.codec, [{ topic: o.topicPrefix + t, partition, from, to }]);
  }));
  refold(core, mergeByTime(lists), o.topicPrefix, o.validate);
  return core;
}
