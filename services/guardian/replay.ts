// Replay of the guardian: its recorded inputs (mesh.guardian up to the group's committed offset)
// refolded by the same core with a reader that commits and produces nothing, and every event the
// fold emits encoded and compared byte for byte with the one the service produced (matched by
// event id, which derives from the input). Reports the first divergence: an event produced
// differently, one the replay does not produce, or one the service never produced.
import type { SolvermeshEvent } from '../../schemas/generated/events';
import { MESH_PARTITIONS } from '../../topics/catalog';
import type { EventCodec } from '../runtime/codec';
import { committedOffsets, readLog } from '../runtime/kafka/log-reader';
import type { EventValidator } from '../runtime/processor';
import type { GuardianCore } from './core';
import { CIRCUITS, PRODUCER, WITNESSES, toEmits } from './outputs';
import type { GuardianPolicy } from './policy';
import { foldSequenced } from './processor';
import { SEQUENCED } from './ticks';

export interface GuardianLogOptions {
  readonly brokers: readonly string[];
  readonly codec: EventCodec;
  readonly topicPrefix: string;
  readonly policy: GuardianPolicy;
  readonly validate?: EventValidator;
}

export interface Refolded {
  readonly core: GuardianCore;
  readonly inputs: number;
  /** The emitted events in fold order, with their logical topics. */
  readonly events: ReadonlyArray<{ readonly topic: string; readonly event: SolvermeshEvent }>;
}

/** Folds mesh.guardian up to `to` (exclusive; undefined: its end now), keeping what it emits. */
export async function refold(o: GuardianLogOptions, to?: number): Promise<Refolded> {
  const events: Array<{ topic: string; event: SolvermeshEvent }> = [];
  let inputs = 0;
  const core = await foldSequenced(o, to, (e, c) => {
    inputs++;
    for (const x of toEmits(e.meta.event_id, c.fold(e))) events.push({ topic: x.topic, event: x.event });
  });
  return { core, inputs, events };
}

export interface Divergence {
  readonly eventId: string;
  readonly type: string;
  readonly kind: 'differs' | 'not recorded' | 'not recomputed';
  readonly recorded?: unknown;
  readonly recomputed?: unknown;
}

export interface GuardianReplay {
  readonly ok: boolean;
  readonly inputs: number;
  readonly through: number;
  readonly recorded: number;
  readonly recomputed: number;
  readonly identical: number;
  readonly divergence?: Divergence;
}

export async function replayGuardian(o: GuardianLogOptions & { readonly groupId: string }): Promise<GuardianReplay> {
  const seq = o.topicPrefix + SEQUENCED;
  const committed = async () => (await committedOffsets(o.brokers, o.groupId, [{ topic: seq, partition: 0 }])).get(`${seq}/0`) ?? -1;
  const partitions = [...Array(MESH_PARTITIONS).keys()];
  // The outputs and the offset commit in one transaction: read between two equal committed
  // offsets, the outputs are exactly those of the inputs before it (a live service may move on).
  let through = await committed();
  const recorded = new Map<string, { value: Buffer; event: SolvermeshEvent }>();
  for (let attempt = 0; ; attempt++) {
    recorded.clear();
    const recs = await readLog(o.brokers, o.codec, [CIRCUITS, WITNESSES].flatMap((t) => partitions.map((p) => ({ topic: o.topicPrefix + t, partition: p, from: 0 }))));
    for (const r of recs) if (r.event && r.value && r.event.meta.producer === PRODUCER) recorded.set(r.event.meta.event_id, { value: r.value, event: r.event });
    const after = await committed();
    if (after === through) break;
    if (attempt >= 5) throw new Error(`the guardian group ${o.groupId} kept committing while the replay read its outputs; stop it or retry`);
    through = after;
  }
  const { inputs, events } = await refold(o, Math.max(0, through));
  let identical = 0;
  const result = (divergence?: Divergence): GuardianReplay => ({ ok: !divergence, inputs, through, recorded: recorded.size, recomputed: events.length, identical, ...(divergence ? { divergence } : {}) });
  const seen = new Set<string>();
  for (const { topic, event } of events) {
    const id = event.meta.event_id;
    seen.add(id);
    const r = recorded.get(id);
    if (!r) return result({ eventId: id, type: event.type, kind: 'not recorded', recomputed: event });
    const bytes = await o.codec.encode(o.topicPrefix + topic, event);
    if (!bytes.equals(r.value)) return result({ eventId: id, type: event.type, kind: 'differs', recorded: r.event, recomputed: event });
    identical++;
  }
  for (const [id, r] of recorded) if (!seen.has(id)) return result({ eventId: id, type: r.event.type, kind: 'not recomputed', recorded: r.event });
  return result();
}
