// Wires the cascade decider (cascade.ts) to Kafka. A stage's QuorumDecided on mesh.acks is
// copied into its cascade's partition of mesh.cascades (in the transaction that consumes it, as
// CONFLICT acks become conflict reports); that partition's requests, copies and stage deadlines
// are folded per cascade; stage requests go out on mesh.coordination (keyed by the stage's
// correlation id, for the impedance service to schedule), the cascade's end on mesh.cascades.
// A deadline is armed for every stage still awaited at T + window + its timeout, and written to
// the stage's partition of mesh.schedules: its dispatch passes it on here once due, later by the
// stage's shift when a late schedule moved the stage (dispatch.ts stageDeadlinePassed). There it
// is ordered with the tick that shifts, so a deadline written before the shift still moves.
// When this instance holds the cascade's partition, the copy is also stepped in the transaction
// that writes it, so the next stage's request goes out with the copy instead of a transaction after
// it is read back (where stepping it again changes nothing); only where that cannot reorder the
// cascade's inputs against the log: one stage at a time (not PARALLEL), its deadline tick unwritten.
import { randomUUID } from 'node:crypto';
import type { CascadeStageDecided, CascadeStageTimedOut, InputPosition } from '../../schemas/generated/events';
import { topicSpec, type TopicName } from '../../topics/catalog';
import type { EventCodec } from '../runtime/codec';
import type { Logger } from '../runtime/logger';
import { PartitionStates, type LogRestoreDeps } from '../runtime/partition-states';
import type { Emit, EventValidator, Processor } from '../runtime/processor';
import type { TickWriter } from '../runtime/tick-writer';
import { partitionOf } from '../runtime/kafka/partition-key';
import { awaited, cascadeStep, NO_CASCADE, stageDecidedOf, step, type Cascade, type CascadeInput } from './cascade';
import { PRODUCER } from './conflicts';

const CASCADES: TopicName = 'mesh.cascades';
const ACKS: TopicName = 'mesh.acks';
const COORDINATION: TopicName = 'mesh.coordination';
const SCHEDULES: TopicName = 'mesh.schedules';
export const CASCADE_INPUT_TYPES = ['CascadeRequested', 'CascadeStageDecided', 'CascadeStageTimedOut'] as const satisfies ReadonlyArray<CascadeInput['type']>;
const INPUTS = CASCADE_INPUT_TYPES;
export const CASCADE_PROCESSOR_TYPES = [...INPUTS, 'QuorumDecided'] as const;

export interface CascadeProcessorOptions extends LogRestoreDeps {
  readonly logger: Logger;
  readonly ticks: TickWriter;
}

/** Cascades of one mesh.cascades partition by cascade id. */
type Cascades = Map<string, Cascade>;

export function cascadeProcessor(o: CascadeProcessorOptions): Processor<(typeof CASCADE_PROCESSOR_TYPES)[number]> {
  const prefixOf = (partition: number, cascadeId: string) => `cascade/${partition}/${cascadeId}/`;
  const cascadePartitions = topicSpec(CASCADES).partitions;
  /** Deadline ticks handed to the tick writer: such a stage's copy is stepped only when read back, after its tick. */
  const written = new Set<string>();

  /** Arms the deadline of every stage awaited, drops those of stages no longer awaited. */
  function arm(partition: number, cascadeId: string, c: Cascade): void {
    const prefix = prefixOf(partition, cascadeId);
    const wanted = new Map(awaited(c).map((s) => [`${prefix}${s.index}`, s]));
    o.ticks.cancel((id) => id.startsWith(prefix) && !wanted.has(id));
    for (const id of written) if (id.startsWith(prefix) && !wanted.has(id)) written.delete(id);
    for (const [id, s] of wanted) {
      // Written already: the stage's dispatch holds it until due (armed again, it would be written again at once).
      if (written.has(id)) continue;
      o.ticks.arm(id, Math.ceil(s.deadlineUs / 1000), (writtenAtMs) => {
        written.add(id);
        // On the stage's own partition of mesh.schedules, where its dispatch passes it on once due (its shift moves it).
        const tick: CascadeStageTimedOut = {
          type: 'CascadeStageTimedOut',
          meta: { event_id: randomUUID(), correlation_id: s.correlationId, causation_id: null, occurred_at: Math.max(writtenAtMs * 1000, s.deadlineUs), producer: PRODUCER, sequence: null },
          stage_index: s.index, deadline_at: s.deadlineUs, applied_through: null,
        };
        return { topic: SCHEDULES, key: s.correlationId, event: tick };
      });
    }
  }

  const states = new PartitionStates<Cascades, CascadeInput['type']>({
    topic: CASCADES, types: INPUTS, brokers: o.brokers, codec: o.codec, topicPrefix: o.topicPrefix, groupId: o.groupId,
    ...(o.validate ? { validate: o.validate } : {}),
    create: () => new Map(),
    fold: (m, e) => { m.set(e.meta.correlation_id, step(m.get(e.meta.correlation_id) ?? NO_CASCADE, e).next); },
    restored: (partition, m) => {
      o.ticks.cancel((id) => id.startsWith(`cascade/${partition}/`));
      for (const [c, x] of m) arm(partition, c, x);
    },
  });

  function handleWith(m: Cascades, e: CascadeInput, partition: number, at: InputPosition | null): Emit[] {
    const id = e.meta.correlation_id;
    const { next, out } = cascadeStep(m.get(id) ?? NO_CASCADE, e, at);
    m.set(id, next);
    arm(partition, id, next);
    return out.map((x) => {
      if (x.type === 'CascadeCompleted') {
        o.logger.info({ cascade: id, status: x.status, latencyMs: x.latency_us / 1000 }, 'cascade completed');
        return { topic: CASCADES, key: id, event: x };
      }
      return { topic: COORDINATION, key: x.meta.correlation_id, event: x };
    });
  }

  /** The copy stepped now, when the partition is held here and no input of the cascade can be ahead of it in the log; null otherwise. */
  function stepNow(copy: CascadeStageDecided): Emit[] | null {
    const partition = partitionOf(copy.meta.correlation_id, cascadePartitions);
    const m = states.peek(partition);
    const c = m?.get(copy.meta.correlation_id);
    if (!m || c?.status !== 'running' || c.request.strategy === 'PARALLEL') return null;
    const run = c.runs[copy.stage_index];
    if (run?.state !== 'started' || run.correlationId !== copy.stage_correlation_id) return null;
    if (written.has(`${prefixOf(partition, copy.meta.correlation_id)}${copy.stage_index}`)) return null;
    return handleWith(m, copy, partition, copy.applied_through);
  }

  return {
    name: 'coordinator.cascades',
    inputs: [ACKS, CASCADES],
    accepts: CASCADE_PROCESSOR_TYPES,
    handle(event, ctx) {
      if (event.type === 'QuorumDecided') {
        const copy = ctx.topic.endsWith(ACKS) ? stageDecidedOf(event, { topic: ACKS, partition: ctx.partition, offset: Number(ctx.offset) }) : null;
        if (!copy) return [];
        const now = stepNow(copy);
        // Marked, so that read back (after a restart or an abort restored the partition to before it) it is folded, not stepped again.
        return now ? [{ topic: CASCADES, key: copy.meta.correlation_id, event: { ...copy, stepped: true } }, ...now] : [{ topic: CASCADES, key: copy.meta.correlation_id, event: copy }];
      }
      const m = states.get(ctx.partition);
      const at: InputPosition = { topic: CASCADES, partition: ctx.partition, offset: Number(ctx.offset) };
      // A copy stepped when written: what it caused went out with it.
      const handle = (x: Cascades) => (event.type === 'CascadeStageDecided' && event.stepped === true ? (handleWith(x, event, ctx.partition, event.applied_through), []) : handleWith(x, event, ctx.partition, at));
      return m instanceof Promise ? m.then(handle) : handle(m);
    },
    onAbort() { states.invalidate(); },
    async onAssigned(list) {
      const mine = list.filter((x) => x.topic.endsWith(CASCADES));
      if (mine.length > 0) await states.restore(...mine.map((x) => x.partition));
    },
    onRevoked(list) {
      const gone = new Set(list.filter((x) => x.topic.endsWith(CASCADES)).map((x) => x.partition));
      o.ticks.cancel((id) => id.startsWith('cascade/') && gone.has(Number(id.split('/')[1])));
      states.drop(gone);
    },
  };
}
