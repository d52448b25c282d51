// Copies a group that lost its offsets would write twice. The service copies each ack of
// mesh.acks, and each heal of mesh.circuits, onto mesh.agent-acks in the transaction that consumes
// it. With the group's offsets of those topics deleted or expired, the consumer starts again from
// the beginning and meets inputs whose copies are already there: copied again, they would be folded
// again at new offsets (an agent's fold drops only its last 16 message ids). So, at assignment,
// when a source partition has no committed offset, the copies already on mesh.agent-acks are
// listed (read_committed: only copies whose transaction committed) and their inputs pass
// over. The list is kept until the service stops: it is read only in that case, and is as long as
// mesh.agent-acks' retention.
import type { TopicName } from '../../topics/catalog';
import type { EventCodec } from '../runtime/codec';
import { committedOffsets, partitionEnds, readLog } from '../runtime/kafka/log-reader';
import { decodedOrUndefined, recordTyper } from '../runtime/record-type';

const AGENT_ACKS: TopicName = 'mesh.agent-acks';
/** The inputs copied onto mesh.agent-acks. */
export const COPIED_SOURCES: readonly TopicName[] = ['mesh.acks', 'mesh.circuits'];

/** Ids of the inputs already copied (an ack's event id, a heal's), or undefined when every source partition holding records has a committed offset. */
export type CopiedBeforeFn = (sources: ReadonlyArray<{ topic: string; partition: number }>) => Promise<ReadonlySet<string> | undefined>;

export function readCopiedBefore(o: { brokers: readonly string[]; codec: EventCodec; groupId: string; topicPrefix: string; agentAckPartitions: number }): CopiedBeforeFn {
  return async (sources) => {
    const tps = sources.map((s) => ({ topic: o.topicPrefix + s.topic, partition: s.partition }));
    const [committed, sourceEnds] = await Promise.all([committedOffsets(o.brokers, o.groupId, tps), partitionEnds(o.brokers, tps)]);
    // A partition that never held a record has no committed offset either: nothing to meet again.
    const lost = tps.some((t) => (committed.get(`${t.topic}/${t.partition}`) ?? -1) < 0 && (sourceEnds.get(`${t.topic}/${t.partition}`) ?? 0) > 0);
    if (!lost) return undefined;
    const topic = o.topicPrefix + AGENT_ACKS;
    const parts = Array.from({ length: o.agentAckPartitions }, (_, partition) => ({ topic, partition }));
    const ends = await partitionEnds(o.brokers, parts);
    const typeOf = recordTyper(o.codec);
    const ids = new Set<string>();
    await readLog(o.brokers, o.codec, parts.map((p) => ({ ...p, from: 0, to: ends.get(`${topic}/${p.partition}`) ?? 0 })), {
      decode: false,
      onRecord: async (r) => {
        const type = r.value ? await typeOf(r.value) : undefined;
        if (type !== 'AckReceived' && type !== 'MeshHealRequested') return;
        const e = await decodedOrUndefined(o.codec, r.value!);
        // An ack's copy keeps its event id; a heal's copy names the heal as its cause.
        if (e?.type === 'AckReceived') ids.add(e.meta.event_id);
        else if (e?.type === 'MeshHealRequested' && e.meta.causation_id) ids.add(e.meta.causation_id);
      },
    });
    return ids;
  };
}
