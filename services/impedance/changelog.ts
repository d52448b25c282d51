// The impedance service's reads of its own log, for a new owner of heartbeat partitions: the
// latest ImpedanceUpdated per agent on the compacted mesh.impedance, the heartbeats committed
// after that checkpoint, and the group's committed offsets. All through the runtime's reader
// (read_committed, no group membership, nothing committed).
import type { AckReceived, ConflictReported, HeartbeatReceived, ImpedanceUpdated, MeshHealRequested } from '../../schemas/generated/events';
import type { EventCodec } from '../runtime/codec';
import { committedOffsets as groupOffsets, partitionEnds, readLog } from '../runtime/kafka/log-reader';
import type { ChangelogBounds } from './changelog-trust';
import type { EventValidator } from '../runtime/processor';

export interface ChangelogReadOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly partitions: readonly number[];
  readonly codec: EventCodec;
  readonly timeoutMs?: number;
  /** Why an entry (with its record key, on its partition) is not taken; entries it refuses are passed over. */
  readonly refusal?: (e: ImpedanceUpdated, key: string | null, partition: number) => string | undefined;
  readonly onRefused?: (partition: number, agentId: string, why: string) => void;
}

/** Latest ImpedanceUpdated per agent, by partition (the latest `refusal` takes, when given). */
export async function readChangelog(opts: ChangelogReadOptions): Promise<Map<number, Map<string, ImpedanceUpdated>>> {
  const out = new Map<number, Map<string, ImpedanceUpdated>>(opts.partitions.map((p) => [p, new Map()]));
  await readLog(opts.brokers, opts.codec, opts.partitions.map((partition) => ({ topic: opts.topic, partition, from: 0 })), {
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    onRecord: (r) => {
      if (r.event?.type !== 'ImpedanceUpdated') return;
      const why = opts.refusal?.(r.event, r.key, r.partition);
      if (why) { opts.onRefused?.(r.partition, r.event.agent_id, why); return; }
      out.get(r.partition)?.set(r.event.agent_id, r.event);
    },
  });
  return out;
}

export interface TailReadOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly codec: EventCodec;
  /** The runner's check: a record it would dead-letter is not folded here either. */
  readonly validate: EventValidator;
  readonly timeoutMs?: number;
}

/**
 * The heartbeats of one partition at offsets [from, to): what the previous owner folded and
 * committed after its last changelog checkpoint. Read like the runner reads (read_committed,
 * undecodable and invalid records skipped: they went to the DLQ).
 */
export async function readHeartbeatTail(opts: TailReadOptions, partition: number, from: bigint, to: bigint): Promise<HeartbeatReceived[]> {
  const out: HeartbeatReceived[] = [];
  await readLog(opts.brokers, opts.codec, [{ topic: opts.topic, partition, from: Number(from), to: Number(to) }], {
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    onRecord: (r) => {
      if (r.event?.type === 'HeartbeatReceived' && opts.validate(r.event, r.timestampMs).length === 0) out.push(r.event);
    },
  });
  return out;
}

/** The acks of one mesh.agent-acks partition at offsets [from, to), with their offsets, read like the heartbeats. */
export async function readAckTail(opts: TailReadOptions, partition: number, from: bigint, to: bigint): Promise<Array<{ ack: AckReceived | MeshHealRequested | ConflictReported; offset: number }>> {
  const out: Array<{ ack: AckReceived | MeshHealRequested | ConflictReported; offset: number }> = [];
  await readLog(opts.brokers, opts.codec, [{ topic: opts.topic, partition, from: Number(from), to: Number(to) }], {
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    onRecord: (r) => {
      const e = r.event;
      const counted = e?.type === 'AckReceived' || e?.type === 'MeshHealRequested' || (e?.type === 'ConflictReported' && e.forgery?.own_key === true);
      if (counted && opts.validate(e, r.timestampMs).length === 0) out.push({ ack: e, offset: Number(r.offset) });
    },
  });
  return out;
}

/** The group's committed offsets of `topic` partitions (-1 where it has none). */
export async function committedOffsets(brokers: readonly string[], groupId: string, topic: string, partitions: readonly number[]): Promise<Map<number, bigint>> {
  const got = await groupOffsets(brokers, groupId, partitions.map((partition) => ({ topic, partition })));
  return new Map(partitions.map((p) => [p, BigInt(got.get(`${topic}/${p}`) ?? -1)]));
}

/**
 * Per partition, the positions a changelog entry may claim: below the group's committed offset
 * of each input, or below the log's end where the group has none (new, or its offsets deleted).
 */
export async function changelogBounds(o: { brokers: readonly string[]; groupId: string; heartbeats: string; acks: string }, partitions: readonly number[]): Promise<Map<number, ChangelogBounds>> {
  const tps = partitions.flatMap((partition) => [{ topic: o.heartbeats, partition }, { topic: o.acks, partition }]);
  const [committed, ends] = await Promise.all([groupOffsets(o.brokers, o.groupId, tps), partitionEnds(o.brokers, tps)]);
  const bound = (topic: string, p: number) => {
    const c = committed.get(`${topic}/${p}`);
    return c !== undefined && c >= 0 ? c : ends.get(`${topic}/${p}`) ?? 0;
  };
  return new Map(partitions.map((p) => [p, { heartbeats: bound(o.heartbeats, p), acks: bound(o.acks, p) }]));
}
