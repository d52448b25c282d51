// The guardian's tick writer: the wall clock only chooses when to write a GuardianClockTicked
// record onto mesh.guardian; where it lands among the inputs decides (DESIGN invariant 8).
import { randomUUID } from 'node:crypto';
import type { GuardianClockTicked } from '../../schemas/generated/events';
import type { EventCodec } from '../runtime/codec';
import type { Producer } from '../runtime/kafka/types';
import { PRODUCER } from './outputs';

export const SEQUENCED = 'mesh.guardian';
/** Every record of mesh.guardian has this key: one partition, one order. */
export const SEQUENCE_KEY = 'mesh';

export function tickRecord(atUs: number): GuardianClockTicked {
  return {
    type: 'GuardianClockTicked',
    meta: { event_id: randomUUID(), correlation_id: SEQUENCE_KEY, causation_id: null, occurred_at: atUs, producer: PRODUCER, sequence: null },
    tick_at: atUs,
  };
}

export interface TickWriter {
  write(atUs: number): Promise<void>;
  close(): Promise<void>;
}

export function tickWriter(codec: EventCodec, topicPrefix: string, producer: () => Promise<Producer>): TickWriter {
  let p: Promise<Producer> | undefined;
  const topic = topicPrefix + SEQUENCED;
  return {
    async write(atUs) {
      const send = await (p ??= producer());
      await send.send([{ topic, key: SEQUENCE_KEY, value: await codec.encode(topic, tickRecord(atUs)) }]);
    },
    async close() { if (p) await (await p).close(); },
  };
}
