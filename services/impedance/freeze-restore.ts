// A mesh.coordination partition's freeze state where the group left it: its freeze copies from
// the start of the partition to the committed offset, folded;
// the partition's retention (3 days) bounds the read.
import type { EventCodec } from '../runtime/codec';
import { committedOffsets, readLog } from '../runtime/kafka/log-reader';
import type { EventValidator } from '../runtime/processor';
import { evolveFreeze, THAWED, type FreezeState } from './freeze';

export interface FreezeRestoreDeps {
  readonly brokers: readonly string[];
  /** Physical topic name of mesh.coordination. */
  readonly topic: string;
  readonly codec: EventCodec;
  readonly validate: EventValidator;
  readonly groupId: string;
}

export async function readFreezeState(d: FreezeRestoreDeps, partition: number): Promise<FreezeState> {
  const to = (await committedOffsets(d.brokers, d.groupId, [{ topic: d.topic, partition }])).get(`${d.topic}/${partition}`) ?? -1;
  let s: FreezeState = THAWED;
  if (to <= 0) return s;
  await readLog(d.brokers, d.codec, [{ topic: d.topic, partition, from: 0, to }], {
    onRecord: (r) => {
      const e = r.event;
      if ((e?.type === 'MeshFrozen' || e?.type === 'MeshThawed') && d.validate(e, r.timestampMs).length === 0) s = evolveFreeze(s, e);
    },
  });
  return s;
}
