// Range assignment for kafkajs, whose only built-in assignor is round-robin. Range gives member
// i the same partition numbers of every topic, so co-partitioned topics (solver.sessions, costs,
// commands, keyed by session_id) have partition p of each owned by one instance: the owner of a
// session sees all of its inputs. librdkafka assigns by range by default.
import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

/** Pure: members (sorted by id) get contiguous partition ranges of each topic. */
export function rangeAssignment(memberIds: readonly string[], partitionsByTopic: ReadonlyMap<string, readonly number[]>): Map<string, Record<string, number[]>> {
  const members = [...memberIds].sort();
  const out = new Map<string, Record<string, number[]>>(members.map((m) => [m, {}]));
  for (const [topic, unsorted] of partitionsByTopic) {
    const partitions = [...unsorted].sort((a, b) => a - b);
    const per = Math.floor(partitions.length / members.length);
    const extra = partitions.length % members.length;
    let next = 0;
    members.forEach((m, i) => {
      const count = per + (i < extra ? 1 : 0);
      if (count > 0) out.get(m)![topic] = partitions.slice(next, next + count);
      next += count;
    });
  }
  return out;
}

export const RangeAssigner: PartitionAssigner = ({ cluster }) => ({
  name: 'RangeAssigner',
  version: 1,
  async assign({ members, topics }) {
    const byTopic = new Map(topics.map((t) => [t, cluster.findTopicPartitionMetadata(t).map((p) => p.partitionId)]));
    const plan = rangeAssignment(members.map((m) => m.memberId), byTopic);
    return [...plan].map(([memberId, assignment]) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }) {
    return { name: 'RangeAssigner', metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) };
  },
});
