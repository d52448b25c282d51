// Wires the dispatch decider to mesh.schedules: schedules and the coordinator's own DispatchDue
// ticks in (one partition per correlation id), messages out on the agent-facing mesh.dispatch
// (keyed by agent) and the dispatch summary on mesh.acks (keyed by correlation id, where the
// gather reads it). The tick writer arms the next send bucket of every coordination still sending.
import { randomUUID } from 'node:crypto';
import type { DispatchDue } from '../../schemas/generated/events';
import type { TopicName } from '../../topics/catalog';
import type { EventCodec } from '../runtime/codec';
import type { Logger } from '../runtime/logger';
import { PartitionStates } from '../runtime/partition-states';
import type { Emit, EventValidator, Processor } from '../runtime/processor';
import type { TickWriter } from '../runtime/tick-writer';
import { PRODUCER } from './conflicts';
import { decide, dispatchEvent, evolve, nextDueAt, NO_DISPATCH, type Dispatch, type DispatchInput } from './dispatch';

const SCHEDULES: TopicName = 'mesh.schedules';
const DISPATCH: TopicName = 'mesh.dispatch';
const ACKS: TopicName = 'mesh.acks';
const TYPES = ['ScheduleComputed', 'DispatchDue'] as const satisfies ReadonlyArray<DispatchInput['type']>;

/** Coordinations of one schedules partition by correlation id. */
type Dispatches = Map<string, Dispatch>;

export interface DispatchProcessorOptions {
  readonly logger: Logger;
  readonly brokers: readonly string[];
  readonly codec: EventCodec;
  readonly topicPrefix: string;
  readonly groupId: string;
  readonly validate?: EventValidator;
  readonly ticks: TickWriter;
}

export function dispatchProcessor(o: DispatchProcessorOptions): Processor<DispatchInput['type']> {
  const timerId = (partition: number, correlation: string) => `dispatch/${partition}/${correlation}`;

  /** Per timer id, the last send bucket a tick was armed for: ticks run ahead of their consumption. */
  const armed = new Map<string, number>();

  /**
   * Arms the tick of the next send bucket after those armed already. Each tick, when written,
   * arms the bucket after it at once: waiting until the tick was consumed (a transaction later)
   * would send every bucket after the first late.
   */
  function arm(partition: number, correlation: string, d: Dispatch): void {
    if (d.status !== 'sending') return;
    const id = timerId(partition, correlation);
    const { plan } = d;
    const after = armed.get(id) ?? -Infinity;
    let due = nextDueAt(d)!;
    if (due <= after) {
      const next = plan.sends.find((s, i) => i >= d.next && s.bucketAt > after);
      if (!next) return;
      due = next.bucketAt;
    }
    armBucket(id, correlation, plan.messageId, due, (b) => plan.sends.find((s) => s.bucketAt > b)?.bucketAt);
  }

  function armBucket(id: string, correlation: string, messageId: string, due: number, following: (bucket: number) => number | undefined): void {
    armed.set(id, due);
    o.ticks.arm(id, Math.ceil(due / 1000), (writtenAtMs) => {
      const next = following(due);
      if (next !== undefined && armed.get(id) === due) armBucket(id, correlation, messageId, next, following);
      const tick: DispatchDue = {
        type: 'DispatchDue',
        meta: { event_id: randomUUID(), correlation_id: correlation, causation_id: null, occurred_at: writtenAtMs * 1000, producer: PRODUCER, sequence: null },
        message_id: messageId,
        due_at: due,
      };
      return { topic: SCHEDULES, key: correlation, event: tick };
    });
  }

  const states = new PartitionStates<Dispatches, DispatchInput['type']>({
    topic: SCHEDULES, types: TYPES, brokers: o.brokers, codec: o.codec, topicPrefix: o.topicPrefix, groupId: o.groupId,
    ...(o.validate ? { validate: o.validate } : {}),
    create: () => new Map(),
    fold: (m, e) => { m.set(e.meta.correlation_id, evolve(m.get(e.meta.correlation_id) ?? NO_DISPATCH, e)); },
    restored: (partition, m) => {
      for (const id of armed.keys()) if (id.startsWith(`dispatch/${partition}/`)) armed.delete(id);
      for (const [c, d] of m) arm(partition, c, d);
    },
  });

  function handleWith(m: Dispatches, e: DispatchInput, partition: number): Emit[] {
    const c = e.meta.correlation_id;
    const before = m.get(c) ?? NO_DISPATCH;
    const facts = decide(before, e);
    const after = evolve(before, e);
    m.set(c, after);
    if (after.status === 'sending') arm(partition, c, after);
    else armed.delete(timerId(partition, c));
    const out: Emit[] = [];
    for (const f of facts) {
      const ev = dispatchEvent(e, f);
      if (ev?.type === 'MessageDispatched') out.push({ topic: DISPATCH, key: ev.agent_id, event: ev });
      else if (ev?.type === 'DispatchCompleted') {
        out.push({ topic: ACKS, key: c, event: ev });
        if (ev.expired.length > 0) o.logger.warn({ correlation: c, expired: ev.expired.length }, 'messages dropped: ttl ran out before their send time');
      }
    }
    return out;
  }

  return {
    name: 'coordinator.dispatch',
    inputs: [SCHEDULES],
    accepts: TYPES,
    handle(event, ctx) {
      const m = states.get(ctx.partition);
      return m instanceof Promise ? m.then((x) => handleWith(x, event, ctx.partition)) : handleWith(m, event, ctx.partition);
    },
    onAbort() { states.invalidate(); },
    async onAssigned(list) { if (list.length > 0) await states.restore(...list.map((x) => x.partition)); },
    onRevoked(list) {
      const gone = new Set(list.map((x) => x.partition));
      const mine = (id: string) => id.startsWith('dispatch/') && gone.has(Number(id.split('/')[1]));
      o.ticks.cancel(mine);
      for (const id of armed.keys()) if (mine(id)) armed.delete(id);
      states.drop(gone);
    },
  };
}
