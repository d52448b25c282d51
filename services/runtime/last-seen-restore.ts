// Reads back what a guarded processor accepted on its signed input partitions (identity/last-seen.ts):
// the partitions up to the group's committed offset, and the topic's dead letters this processor
// wrote for them (read_committed: only those of committed batches). One read per assignment, as
// PartitionStates restores; it is as long as the topic's retention (mesh.heartbeats: 1 day).
import { dlqName } from '../../topics/catalog';
import { foldLastSeen } from '../identity/last-seen';
import type { LastSeen } from '../identity/verdict';
import { DLQ_HEADERS } from './dead-letter';
import { committedOffsets, readLog } from './kafka/log-reader';
import type { LogRestoreDeps } from './partition-states';

export type LastSeenRestoreFn = (parts: ReadonlyArray<{ topic: string; partition: number; type: string }>) => Promise<Map<string, Map<string, LastSeen>>>;

/** `processor`: the name the runner writes in the dead letters' dlq.processor header. Keys of the result: `${logical topic}/${partition}`. */
export function readLastSeen(deps: Omit<LogRestoreDeps, 'validate'>, processor: string): LastSeenRestoreFn {
  return async (parts) => {
    const out = new Map<string, Map<string, LastSeen>>();
    if (parts.length === 0) return out;
    const physical = (t: string) => deps.topicPrefix + t;
    const committed = await committedOffsets(deps.brokers, deps.groupId, parts.map((p) => ({ topic: physical(p.topic), partition: p.partition })));
    const refused = new Map<string, string>();
    const dlqs = [...new Set(parts.map((p) => dlqName(physical(p.topic))))];
    for (const r of await readLog(deps.brokers, deps.codec, dlqs.map((topic) => ({ topic, partition: 0, from: 0 })), { decode: false })) {
      const h = r.headers;
      if (h[DLQ_HEADERS.processor] !== processor) continue;
      refused.set(`${h[DLQ_HEADERS.sourceTopic]}/${h[DLQ_HEADERS.sourcePartition]}/${h[DLQ_HEADERS.sourceOffset]}`, h[DLQ_HEADERS.errorClass] ?? 'UNKNOWN');
    }
    const typeOf = new Map(parts.map((p) => [`${physical(p.topic)}/${p.partition}`, p.type]));
    const ranges = parts.map((p) => ({ topic: physical(p.topic), partition: p.partition, from: 0, to: Math.max(0, committed.get(`${physical(p.topic)}/${p.partition}`) ?? 0) }));
    for (const p of parts) out.set(`${p.topic}/${p.partition}`, new Map());
    await readLog(deps.brokers, deps.codec, ranges, {
      onRecord: (r) => {
        const at = `${r.topic}/${r.partition}`;
        const logical = r.topic.slice(deps.topicPrefix.length);
        foldLastSeen(out.get(`${logical}/${r.partition}`)!, r.event, typeOf.get(at)!, refused.get(`${at}/${r.offset}`));
      },
    });
    return out;
  };
}
