// Wires the gather decider to mesh.acks: dispatch summaries, acks, the coordinator's own window
// deadlines and its decisions read back, one partition per correlation id; QuorumDecided out on
// the same partition. A deadline is armed for every open gather at T + window + grace: the grace
// lets acks that arrived inside the window but are still in flight land before it. Each
// partition's gathers are a GatherBook: decided ids are dropped `retentionMs` of event time later.
import { randomUUID } from 'node:crypto';
import type { GatherWindowClosed, InputPosition } from '../../schemas/generated/events';
import type { TopicName } from '../../topics/catalog';
import type { EventCodec } from '../runtime/codec';
import type { Logger } from '../runtime/logger';
import { PartitionStates, type LogRestoreDeps } from '../runtime/partition-states';
import type { Emit, EventValidator, Processor } from '../runtime/processor';
import type { TickWriter } from '../runtime/tick-writer';
import { PRODUCER } from './conflicts';
import { CONFLICTS } from '../runtime/message-guard';
import { copiedToAgent, mismatchReports, type Gather, type GatherInput } from './gather';
import { foldGatherBook, gatherOf, gatherStep, newGatherBook, type GatherBook } from './gather-book';
import { SEED_THRESHOLDS, type QuorumThresholds } from './quorum';

const ACKS: TopicName = 'mesh.acks';
export const GATHER_INPUT_TYPES = ['DispatchCompleted', 'AckReceived', 'GatherWindowClosed', 'QuorumDecided'] as const satisfies ReadonlyArray<GatherInput['type']>;

export interface GatherProcessorOptions extends LogRestoreDeps {
  readonly logger: Logger;
  readonly ticks: TickWriter;
  readonly graceMs: number;
  /** Event time a decided id (or acks without a dispatch summary) is kept before being dropped from memory. */
  readonly retentionMs: number;
  readonly thresholds?: QuorumThresholds;
  /** Acks' signatures were verified before they got here (MESH_SIGNING=required): a signed ack with the wrong payload is its agent's own. */
  readonly signaturesVerified?: boolean;
  /** Where a report that only the agent could have signed is also copied, keyed by the agent (mesh.agent-acks: its fold counts it). */
  readonly ownKeyCopies?: TopicName;
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

  const retentionUs = o.retentionMs * 1000;
  const states = new PartitionStates<GatherBook, GatherInput['type']>({
    topic: ACKS, types: GATHER_INPUT_TYPES, brokers: o.brokers, codec: o.codec, topicPrefix: o.topicPrefix, groupId: o.groupId,
    ...(o.validate ? { validate: o.validate } : {}),
    create: newGatherBook,
    fold: (b, e) => foldGatherBook(b, e, t, retentionUs),
    restored: (partition, b) => { for (const [c, g] of b.gathers) arm(partition, c, g); },
  });

  /** Reports of the acks naming another payload than the one sent: they are not counted. */
  function refusals(g: Gather, e: GatherInput, at: InputPosition): Emit[] {
    const out: Emit[] = [];
    for (const report of mismatchReports(g, e, at, o.signaturesVerified === true)) {
      o.logger.warn({ agent: report.agent_id, correlation: report.meta.correlation_id, ack: report.message_id }, 'ack names another payload_hash than the message sent: not counted');
      out.push({ topic: CONFLICTS, key: report.conflict_id, event: report });
      if (o.ownKeyCopies && copiedToAgent(report)) out.push({ topic: o.ownKeyCopies, key: report.agent_id, event: report });
    }
    return out;
  }

  function handleWith(b: GatherBook, e: GatherInput, partition: number, offset: string): Emit[] {
    const c = e.meta.correlation_id;
    const before = gatherOf(b, c);
    const at: InputPosition = { topic: ACKS, partition, offset: Number(offset) };
    const refused = refusals(before, e, at);
    const decisions = gatherStep(b, e, t, retentionUs, at);
    const after = gatherOf(b, c);
    if (before.status !== 'open') arm(partition, c, after);
    else if (after.status !== 'open') o.ticks.cancel((id) => id === timerId(partition, c));
    return [...refused, ...decisions.map((q): Emit => ({ topic: ACKS, key: c, event: q }))];
  }

  return {
    name: 'coordinator.gather',
    inputs: [ACKS],
    accepts: GATHER_INPUT_TYPES,
    handle(event, ctx) {
      const m = states.get(ctx.partition);
      return m instanceof Promise ? m.then((x) => handleWith(x, event, ctx.partition, ctx.offset)) : handleWith(m, event, ctx.partition, ctx.offset);
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
