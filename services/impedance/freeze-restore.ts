// A mesh.coordination partition's gate state where the group left it (coordination-gate.ts): its
// freeze copies and approvals from the start of the partition to the committed offset, folded;
// the partition's retention (3 days) bounds the read.
import type { EventCodec } from '../runtime/codec';
import { committedOffsets, readLog } from '../runtime/kafka/log-reader';
import { isOneOf, type EventValidator } from '../runtime/processor';
import { evolveGate, GATE_EVENT_TYPES, OPEN_GATE, type GateState } from './coordination-gate';

export interface FreezeRestoreDeps {
  readonly brokers: readonly string[];
  /** Physical topic name of mesh.coordination. */
  readonly topic: string;
  readonly codec: EventCodec;
  readonly validate: EventValidator;
  readonly groupId: string;
}

const isGateEvent = isOneOf(GATE_EVENT_TYPES);

export async function readGateState(d: FreezeRestoreDeps, partition: number): Promise<GateState> {
  const to = (await committedOffsets(d.brokers, d.groupId, [{ topic: d.topic, partition }])).get(`${d.topic}/${partition}`) ?? -1;
  let s: GateState = OPEN_GATE;
  if (to <= 0) return s;
  await readLog(d.brokers, d.codec, [{ topic: d.topic, partition, from: 0, to }], {
    onRecord: (r) => {
      const e = r.event;
      if (e && isGateEvent(e) && d.validate(e, r.timestampMs).length === 0) s = evolveGate(s, e);
    },
  });
  return s;
}
