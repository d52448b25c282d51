// A mesh-wide command (freeze, thaw, heal) sequenced among a keyed topic's records: one copy in
// every partition, keyed by a correlation id chosen to land there (partition-key.ts), so each
// partition's fold meets it at one place in its own log, the place a replay meets it too.
import type { MeshFrozen, MeshHealRequested, MeshThawed } from '../../schemas/generated/events';
import { derivedEventId } from '../runtime/ids';
import { keyForPartition } from '../runtime/kafka/partition-key';
import type { Emit } from '../runtime/processor';

export type SequencedCommand = MeshFrozen | MeshThawed | MeshHealRequested;

export function copiesInto(topic: string, e: SequencedCommand, partitions: number, keyPrefix: string): Emit[] {
  const out: Emit[] = [];
  for (let p = 0; p < partitions; p++) {
    const key = keyForPartition(`${keyPrefix}${e.meta.event_id}`, p, partitions);
    const meta = { ...e.meta, event_id: derivedEventId(e.meta.event_id, `copy:${p}`), correlation_id: key, causation_id: e.meta.event_id };
    out.push({ topic, key, event: { ...e, meta } });
  }
  return out;
}
