// Wires the dispatch decider to mesh.schedules: schedules and the coordinator's own DispatchDue
// ticks in (one partition per correlation id), messages out on the agent-facing mesh.dispatch
// (keyed by agent) and the dispatch summary on mesh.acks (keyed by correlation id, where the
// gather reads it). The tick writer arms the next send bucket of every coordination still sending.
// A cascade stage's deadline tick lands here too, among the stage's own ticks: passed on to the
// cascade's partition of mesh.cascades once due, its time moved by the stage's shift (a held one is
// written again here when its moved time comes).
import { randomUUID } from 'node:crypto';
import type { CascadeStageTimedOut, DispatchDue } from '../../schemas/generated/events';
import type { TopicName } from '../../topics/catalog';
import type { EventCodec } from '../runtime/codec';
import type { Logger } from '../runtime/logger';
import { PartitionStates, type LogRestoreDeps } from '../runtime/partition-states';
import type { Emit, EventValidator, Processor } from '../runtime/processor';
import type { TickWriter } from '../runtime/tick-writer';
import { PRODUCER } from './conflicts';
import { dispatchStep, evolve, heldDeadline, leftDue, NO_DISPATCH, releasePoint, replanShiftUs, scheduleLateness, shiftPlan, type Dispatch, type DispatchInput, type Plan } from './dispatch';
import { ProductionCost } from './production-cost';

const SCHEDULES: TopicName = 'mesh.schedules';
const DISPATCH: TopicName = 'mesh.dispatch';
const ACKS: TopicName = 'mesh.acks';
const CASCADES: TopicName = 'mesh.cascades';
export const DISPATCH_INPUT_TYPES = ['ScheduleComputed', 'DispatchDue', 'CascadeStageTimedOut'] as const satisfies ReadonlyArray<DispatchInput['type']>;

/** Coordinations of one schedules partition by correlation id. */
type Dispatches = Map<string, Dispatch>;

export interface DispatchProcessorOptions extends LogRestoreDeps {
  readonly logger: Logger;
  readonly ticks: TickWriter;
  /** How long before its bucket a tick is written at least (COORDINATOR_DISPATCH_AHEAD_MS; the measured path when longer). */
  readonly aheadMs: number;
  /** Production time allowed per message released by one tick (COORDINATOR_DISPATCH_US_PER_MESSAGE): the floor of the measured cost. */
  readonly perMessageUs: number;
  /** Most sends one tick handles (COORDINATOR_DISPATCH_MAX_SENDS_PER_TICK); 0: no bound. */
  readonly maxSendsPerTick: number;
  /** The wall clock, ms (tests). */
  readonly nowMs?: () => number;
}

export function dispatchProcessor(o: DispatchProcessorOptions): Processor<DispatchInput['type']> {
  const timerId = (partition: number, correlation: string) => `dispatch/${partition}/${correlation}`;
  const deadlineId = (partition: number, correlation: string) => `stage-deadline/${partition}/${correlation}`;

  /** Held stage deadlines written again, by timer id: not written twice while the first is on its way. */
  const rewritten = new Set<string>();

  /** Arms a held stage deadline at its moved time (the first tick said the shift), on the stage's partition again. */
  function armDeadline(partition: number, correlation: string, d: Dispatch): void {
    const held = heldDeadline(d);
    const id = deadlineId(partition, correlation);
    if (!held) { o.ticks.cancel((x) => x === id); rewritten.delete(id); return; }
    if (rewritten.has(id)) return;
    o.ticks.arm(id, Math.ceil(held.dueAt / 1000), (writtenAtMs) => {
      rewritten.add(id);
      const tick: CascadeStageTimedOut = {
        ...held.tick,
        meta: { event_id: randomUUID(), correlation_id: correlation, causation_id: held.tick.meta.event_id, occurred_at: Math.max(writtenAtMs * 1000, held.dueAt), producer: PRODUCER, sequence: null },
      };
      return { topic: SCHEDULES, key: correlation, event: tick };
    });
  }

  /** Timer ids whose chain of ticks runs: one per coordination still sending. */
  const chained = new Set<string>();
  const cost = new ProductionCost(o.perMessageUs, o.aheadMs);
  const now = o.nowMs ?? Date.now;
  /** Messages a partition's uncommitted batch released, and the earliest write time of the ticks that released them. */
  const releasing = new Map<number, { messages: number; tickMs: number }>();

  /**
   * Starts the chain of ticks of a coordination still sending, at its next release point. Each tick,
   * when written, arms the next bucket of the plan at once: arming it only once the tick was
   * consumed (a transaction later) would send every bucket after the first late. Ticks that land
   * late release every bucket due by then; a tick with nothing left to send changes nothing.
   */
  function arm(partition: number, correlation: string, d: Dispatch): void {
    const id = timerId(partition, correlation);
    if (d.status !== 'sending') {
      if (chained.delete(id)) o.ticks.cancel((x) => x === id);
      paused.delete(id);
      return;
    }
    if (chained.has(id)) return;
    chained.add(id);
    // Only a chain started before anything was sent, already past its first release point (the
    // schedule came late), shifts its plan: a tick written a few ms after its time moves nothing.
    const first = releasePoint(d.plan.sends, d.next, cost.aheadMs(), cost.perMessageUs());
    tickAt(partition, correlation, d.plan, d.next, d.next === 0 && d.plan.shiftUs === 0 && first.writeAtMs < now() ? d : null);
  }

  /** Arms the chain's tick for sends[from..] at its release point; written, it arms the next. */
  function tickAt(partition: number, correlation: string, plan: Plan, from: number, shiftable: Dispatch | null): void {
    const id = timerId(partition, correlation);
    const { writeAtMs, throughUs } = releasePoint(plan.sends, from, cost.aheadMs(), cost.perMessageUs());
    o.ticks.arm(id, writeAtMs, (writtenAtMs) => {
      // A plan whose schedule came after its first tick was due moves by the tick's lateness, once.
      const shiftUs = shiftable ? replanShiftUs(shiftable, writeAtMs, writtenAtMs) : 0;
      const sending = shiftPlan(plan, shiftUs);
      const through = throughUs + shiftUs;
      const next = sending.sends.findIndex((s) => s.bucketAt > through);
      // A tick due to send more than its bound: the next is written once its release has committed (onCommitted).
      const reach = Math.max(writtenAtMs * 1000, through);
      const due = sending.sends.findIndex((s, i) => i >= from && s.bucketAt > reach);
      const bounded = o.maxSendsPerTick > 0 && (due < 0 ? sending.sends.length : due) - from > o.maxSendsPerTick;
      if (bounded) paused.add(id);
      else if (next >= 0 && chained.has(id)) tickAt(partition, correlation, sending, next, null);
      if (shiftUs > 0) o.logger.warn({ correlation, shiftMs: shiftUs / 1000, sends: plan.sends.length }, 'schedule readable after its first sends were due: every send time and T shifted by its lateness');
      const tick: DispatchDue = {
        type: 'DispatchDue',
        meta: { event_id: randomUUID(), correlation_id: correlation, causation_id: null, occurred_at: writtenAtMs * 1000, producer: PRODUCER, sequence: null },
        message_id: plan.messageId,
        due_at: through,
        shift_us: shiftUs > 0 ? shiftUs : null,
        max_sends: o.maxSendsPerTick > 0 ? o.maxSendsPerTick : null,
      };
      return { topic: SCHEDULES, key: correlation, event: tick };
    });
  }

  /** Chains whose last tick was bounded: the next is armed once a tick of theirs has committed. */
  const paused = new Set<string>();
  /** Coordinations of a paused chain, or whose tick left sends due, by partition: their next tick waits for that release's commit. */
  const continuing = new Map<number, Set<string>>();

  const states = new PartitionStates<Dispatches, DispatchInput['type']>({
    topic: SCHEDULES, types: DISPATCH_INPUT_TYPES, brokers: o.brokers, codec: o.codec, topicPrefix: o.topicPrefix, groupId: o.groupId,
    ...(o.validate ? { validate: o.validate } : {}),
    create: () => new Map(),
    fold: (m, e) => { m.set(e.meta.correlation_id, evolve(m.get(e.meta.correlation_id) ?? NO_DISPATCH, e)); },
    restored: (partition, m) => {
      for (const id of chained) if (id.startsWith(`dispatch/${partition}/`)) chained.delete(id);
      for (const id of paused) if (id.startsWith(`dispatch/${partition}/`)) paused.delete(id);
      o.ticks.cancel((id) => id.startsWith(`dispatch/${partition}/`) || id.startsWith(`stage-deadline/${partition}/`));
      for (const id of rewritten) if (id.startsWith(`stage-deadline/${partition}/`)) rewritten.delete(id);
      for (const [c, d] of m) { arm(partition, c, d); armDeadline(partition, c, d); }
    },
  });

  function handleWith(m: Dispatches, e: DispatchInput, partition: number, offset: string, recordMs: number): Emit[] {
    const c = e.meta.correlation_id;
    const before = m.get(c) ?? NO_DISPATCH;
    const { facts, events, after, deadline } = dispatchStep(before, e, { topic: SCHEDULES, partition, offset: Number(offset) });
    m.set(c, after);
    armDeadline(partition, c, after);
    if (after.status === 'sending' && before.status !== 'sending') {
      const late = scheduleLateness(after.plan, recordMs, cost.aheadMs());
      if (late) o.logger.warn({ correlation: c, ...late }, 'schedule written after its first sends were due: they go out late and their agents arrive after T (the request\'s lead was shorter than its path)');
    }
    arm(partition, c, after);
    const out: Emit[] = deadline ? [{ topic: CASCADES, key: deadline.meta.correlation_id, event: deadline }] : [];
    if (e.type === 'DispatchDue' && after.status === 'sending' && (leftDue(after, e) || paused.has(timerId(partition, c)))) {
      const cs = continuing.get(partition);
      if (cs) cs.add(c); else continuing.set(partition, new Set([c]));
    }
    const sent = facts.filter((f) => f.kind === 'sent').length;
    if (e.type === 'DispatchDue' && sent > 0) {
      const r = releasing.get(partition);
      const tickMs = e.meta.occurred_at / 1000;
      releasing.set(partition, { messages: (r?.messages ?? 0) + sent, tickMs: Math.min(r?.tickMs ?? tickMs, tickMs) });
    }
    for (const ev of events) {
      if (ev.type === 'MessageDispatched') out.push({ topic: DISPATCH, key: ev.agent_id, event: ev });
      else {
        out.push({ topic: ACKS, key: c, event: ev });
        if ((ev.expired_count ?? ev.expired.length) > 0) o.logger.warn({ correlation: c, expired: ev.expired_count ?? ev.expired.length }, 'messages dropped: ttl ran out before their send time');
      }
    }
    return out;
  }

  return {
    name: 'coordinator.dispatch',
    inputs: [SCHEDULES],
    accepts: DISPATCH_INPUT_TYPES,
    handle(event, ctx) {
      const m = states.get(ctx.partition);
      return m instanceof Promise ? m.then((x) => handleWith(x, event, ctx.partition, ctx.offset, ctx.timestampMs)) : handleWith(m, event, ctx.partition, ctx.offset, ctx.timestampMs);
    },
    onAbort() { states.invalidate(); releasing.clear(); continuing.clear(); },
    onCommitted(batch) {
      // The batch names the real topic, TOPIC_PREFIX included.
      if (!batch.topic.endsWith(SCHEDULES)) return;
      const cs = continuing.get(batch.partition);
      if (cs) {
        continuing.delete(batch.partition);
        const m = states.peek(batch.partition);
        for (const c of cs) {
          const d = m?.get(c);
          const id = timerId(batch.partition, c);
          paused.delete(id);
          if (d?.status === 'sending' && chained.has(id)) tickAt(batch.partition, c, d.plan, d.next, null);
        }
      }
      const r = releasing.get(batch.partition);
      if (!r) return;
      releasing.delete(batch.partition);
      cost.observe(r.messages, r.tickMs, now());
    },
    async onAssigned(list) { if (list.length > 0) await states.restore(...list.map((x) => x.partition)); },
    onRevoked(list) {
      const gone = new Set(list.map((x) => x.partition));
      const mine = (id: string) => (id.startsWith('dispatch/') || id.startsWith('stage-deadline/')) && gone.has(Number(id.split('/')[1]));
      o.ticks.cancel(mine);
      for (const id of chained) if (mine(id)) chained.delete(id);
      for (const id of rewritten) if (mine(id)) rewritten.delete(id);
      for (const id of paused) if (mine(id)) paused.delete(id);
      states.drop(gone);
    },
  };
}
