// What the schedule replay (schedule-replay.ts) reads from Kafka, read like the runner reads it:
// read_committed, records the impedance service dead-lettered left out (its DLQ records name
// their source position), invalid ones too. Nothing is committed or produced.
import type { SolvermeshEvent } from '../../schemas/generated/events';
import { topicSpec, type TopicName } from '../../topics/catalog';
import { deadLettered, type ReplayLogOptions } from '../runtime/dead-lettered';
import { committedOffsets, readLog } from '../runtime/kafka/log-reader';
import { PRODUCER } from './agent-fold';
import { refolder, type AckInput, type HeartbeatInput } from './schedule-refold';
import { compareSchedules, isDecision, requestsOf, type LoggedChunk, type ScheduleLog, type ScheduleReplay } from './schedule-replay';
import type { GuardianDecision } from './restrictions';

const INPUTS: readonly TopicName[] = ['mesh.heartbeats', 'mesh.agent-acks', 'mesh.coordination', 'mesh.circuits'];
const SCHEDULES: TopicName = 'mesh.schedules';
/** What the service writes: read for the comparison, never dead-lettered by it. */
const OUTPUTS: readonly TopicName[] = [SCHEDULES, 'mesh.summaries'];

/** groupId: requests below its committed mesh.coordination offsets must have been answered. */
export type ScheduleLogOptions = ReplayLogOptions;

type Placed = { readonly partition: number; readonly offset: number; readonly event: SolvermeshEvent };

/** The impedance fold's inputs per partition, as replays collect them. */
export interface FoldInputs {
  readonly heartbeats: Map<number, HeartbeatInput[]>;
  readonly acks: Map<number, AckInput[]>;
}

export const foldInputs = (): FoldInputs => ({ heartbeats: new Map(), acks: new Map() });

const push = <T>(m: Map<number, T[]>, p: number, x: T) => { const l = m.get(p); if (l) l.push(x); else m.set(p, [x]); };

/** Keeps a record of mesh.heartbeats or mesh.agent-acks (the topic without its prefix) that the fold takes; says whether the topic was one of them. */
export function collectFoldInput(into: FoldInputs, topic: string, r: Placed): boolean {
  const e = r.event;
  switch (topic) {
    case 'mesh.heartbeats': if (e.type === 'HeartbeatReceived') push(into.heartbeats, r.partition, { offset: r.offset, event: e }); return true;
    case 'mesh.agent-acks':
      // What the processor folds there (checkpointer.ts readAckTail takes the same).
      if (e.type === 'AckReceived' || e.type === 'MeshHealRequested' || (e.type === 'ConflictReported' && e.forgery?.own_key === true)) push(into.acks, r.partition, { offset: r.offset, event: e });
      return true;
    default: return false;
  }
}

/** Each partition's inputs in offset order. */
export function sortFoldInputs(x: FoldInputs): void {
  for (const m of [x.heartbeats, x.acks] as Array<Map<number, Array<{ offset: number }>>>) for (const l of m.values()) l.sort((a, b) => a.offset - b.offset);
}

/**
 * Reads `topics` (every partition, from the start) as the impedance runner reads them: records it
 * dead-lettered and invalid ones left out; the fold's inputs collected (each partition's in
 * offset order), every other record handed to `visit` with its topic (unprefixed) and bytes.
 */
export async function readImpedanceLog(o: ReplayLogOptions, topics: readonly TopicName[], visit: (topic: string, r: Placed, value: Buffer | null) => void): Promise<FoldInputs> {
  const physical = (t: TopicName) => o.topicPrefix + t;
  const parts = (t: TopicName) => [...Array(topicSpec(t).partitions).keys()];
  const refused = await deadLettered(o.brokers, o.codec, topics.filter((t) => !OUTPUTS.includes(t)).map(physical), o.processor ?? 'impedance');
  const inputs = foldInputs();
  await readLog(o.brokers, o.codec, topics.flatMap((t) => parts(t).map((partition) => ({ topic: physical(t), partition, from: 0 }))), {
    onRecord: (r) => {
      const e = r.event;
      if (!e || refused.has(`${r.topic}/${r.partition}/${r.offset}`)) return;
      if (o.validate && o.validate(e, r.timestampMs).length > 0) return;
      const placed = { partition: r.partition, offset: Number(r.offset), event: e };
      const topic = r.topic.slice(o.topicPrefix.length);
      if (!collectFoldInput(inputs, topic, placed)) visit(topic, placed, r.value);
    },
  });
  sortFoldInputs(inputs);
  return inputs;
}

export async function readScheduleLog(o: ScheduleLogOptions): Promise<ScheduleLog> {
  const coordination = o.topicPrefix + 'mesh.coordination';
  const parts = (t: TopicName) => [...Array(topicSpec(t).partitions).keys()];
  // Before the log: a request below these offsets was answered in a transaction already visible.
  const committed = o.groupId ? await committedOffsets(o.brokers, o.groupId, parts('mesh.coordination').map((partition) => ({ topic: coordination, partition }))) : undefined;
  const decisions = new Map<number, Array<{ offset: number; event: GuardianDecision }>>();
  const requests: Placed[] = [];
  const chunks = new Map<string, LoggedChunk>();
  const inputs = await readImpedanceLog(o, [...INPUTS, SCHEDULES], (topic, r, value) => {
    const { offset, event: e } = r;
    switch (topic) {
      case 'mesh.coordination': requests.push({ partition: r.partition, offset, event: e }); break;
      case 'mesh.circuits': if (isDecision(e)) push(decisions, r.partition, { offset, event: e }); break;
      case 'mesh.schedules':
        if (e.type === 'ScheduleComputed' && e.meta.producer === PRODUCER && value) chunks.set(e.meta.event_id, { event: e, value, partition: r.partition, offset });
        break;
    }
  });
  for (const l of decisions.values()) l.sort((a, b) => a.offset - b.offset);
  requests.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  return {
    requests: requestsOf(requests), chunks, heartbeats: inputs.heartbeats, acks: inputs.acks, decisions,
    ...(committed ? { answeredBelow: new Map(parts('mesh.coordination').map((p) => [p, committed.get(`${coordination}/${p}`) ?? 0])) } : {}),
  };
}

/** The log read, every answered request's schedule recomputed and compared byte for byte. */
export async function replaySchedules(o: ScheduleLogOptions & { readonly maxPendingAckAgents?: number }): Promise<ScheduleReplay> {
  const log = await readScheduleLog(o);
  const topic = o.topicPrefix + SCHEDULES;
  return compareSchedules(log, refolder(log.heartbeats, log.acks, o.maxPendingAckAgents), (e) => o.codec.encode(topic, e));
}
