// Wires the gather decider to mesh.acks: dispatch summaries, acks, the coordinator's own window
// deadlines and its decisions read back, one partition per correlation id; QuorumDecided out on
// the same partition. A deadline is armed for every open gather at T + window + grace: the grace
// lets acks that arrived inside the window but are still in flight land before it.
import { randomUUID } from 'node:crypto';
import type { GatherWindowClosed } from '../../schemas/generated/events';
import type { TopicName } from '../../topics/catalog';
import type { EventCodec } from '../runtime/codec';
import type { Logger } from '../runtime/logger';
import { PartitionStates } from '../runtime/partition-states';
import type { Emit, EventValidator, Processor } from '../runtime/processor';
import type { TickWriter } from '../runtime/tick-writer';
import { PRODUCER } from './conflicts';
import { decide, evolve, NO_GATHER, quorumEvent, type Gather, type GatherInput } from './gather';
import { SEED_THRESHOLDS, type QuorumThresholds } from './quorum';

const ACKS: TopicName = 'mesh.acks';
export const GATHER_INPUT_TYPES = ['DispatchCompleted', 'AckReceived', 'GatherWindowClosed', 'QuorumDecided'] as const satisfies ReadonlyArray<GatherInput['type']>;

type Gathers = Map<string, Gather>;

export interface GatherProcessorOptions {
  readonly logger: Logger;
  readonly brokers: readonly string[];
  readonly codec: EventCodec;
  readonly topicPrefix: string;
  readonly groupId: string;
  readonly validate?: EventValidator;
  readonly ticks: TickWriter;
  readonly graceMs: number;
  readonly thresholds?: QuorumThresholds;
}

export function gatherProcessor(o: GatherProcessorOptions): Processor<GatherInput['type']> {
  const t = o.thresholds ?? SEED_THRESHOLDS;
  const timerId = (partition: number, correlation: string) => `gather/${partition}/${correlation}`;

  function arm(partition: number, correlation: string, g: Gather): void {
    if (g.status !== 'open') return;
    const { messageId, windowEndUs } = g.plan;
    o.ticks.arm(timerId(partition, correlation), Math.ceil(windowEndUs / 1000) + o.graceMs, (writtenAtMs) => {
      const deadline: GatherWindowClosed = {
        type: 'GatherWindowClosed',
        meta: { event_id: randomUUID(), correlation_id: correlation, causation_id: null, occurred_at: writtenAtMs * 1000, producer: PRODUCER, sequence: null },
        message_id: messageId, window_end_at: windowEndUs, grace_ms: o.graceMs,
      };
      return { topic: ACKS, key: correlation, event: deadline };
    });
  }

  const states = new PartitionStates<Gathers, GatherInput['type']>({
    topic: ACKS, types: GATHER_INPUT_TYPES, brokers: o.brokers, codec: o.codec, topicPrefix: o.topicPrefix, groupId: o.groupId,
    ...(o.validate ? { validate: o.validate } : {}),
    create: () => new Map(),
    fold: (m, e) => { m.set(e.meta.correlation_id, evolve(m.get(e.meta.correlation_id) ?? NO_GATHER, e, t)); },
    restored: (partition, m) => { for (const [c, g] of m) arm(partition, c, g); },
  });

  function handleWith(m: Gathers, e: GatherInput, partition: number): Emit[] {
    const c = e.meta.correlation_id;
    const before = m.get(c) ?? NO_GATHER;
    const decided = decide(before, e, t);
    const after = evolve(before, e, t);
    m.set(c, after);
    if (before.status !== 'open') arm(partition, c, after);
    if (after.status === 'decided' && before.status !== 'decided') o.ticks.cancel((id) => id === timerId(partition, c));
    return decided.map((d) => ({ topic: ACKS, key: c, event: quorumEvent(e, d, t) }));
  }

  return {
    name: 'coordinator.gather',
    inputs: [ACKS],
    accepts: GATHER_INPUT_TYPES,
    handle(event, ctx) {
      const m = states.get(ctx.partition);
      return m instanceof Promise ? m.then((x) => handleWith(x, event, ctx.partition)) : handleWith(m, event, ctx.partition);
    },
    onAbort() { states.invalidate(); },
    async onAssigned(list) { if (list.length > 0) await states.restore(...list.map((x) => x.partition)); },
    onRevoked(list) {
      const gone = new Set(list.map((x) => x.partition));
      o.ticks.cancel((id) => id.startsWith('gather/') && gone.has(Number(id.split('/')[1])));
      states.drop(gone);
    },
  };
}
