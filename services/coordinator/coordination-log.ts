// What the coordination replay (coordination-replay.ts) reads from Kafka, read like the runner
// reads it: read_committed, the records the coordinator dead-lettered left out (forged or replayed
// acks among them: the message guard refuses them there), invalid ones too, only the types its
// dispatch, gather and cascades take. Its outputs: sends, dispatch summaries, decisions, the
// gather's payload-mismatch reports and their own-key copies on mesh.agent-acks (not the
// coordinator's other reports, nor what the impedance service copies there), stage decision
// copies, stage requests and cascade ends. Nothing is committed or produced.
import type { SolvermeshEvent } from '../../schemas/generated/events';
import { topicSpec, type TopicName } from '../../topics/catalog';
import { deadLettered, type ReplayLogOptions } from '../runtime/dead-lettered';
import { committedOffsets, readLog } from '../runtime/kafka/log-reader';
import { isOneOf } from '../runtime/processor';
import { PAYLOAD_HASH_MISMATCH } from '../identity/reports';
import type { CascadeInput } from './cascade';
import { CASCADE_INPUT_TYPES } from './cascade-processor';
import { PRODUCER } from './conflicts';
import {
  ACKS, AGENT_ACKS, CASCADES, compareCoordination, CONFLICT_REPORTS, COORDINATION, DISPATCH, SCHEDULES,
  type CoordinationLog, type CoordinationOutput, type CoordinationReplay, type LoggedCopy, type LoggedInput, type LoggedOutput,
} from './coordination-replay';
import type { DispatchInput } from './dispatch';
import { DISPATCH_INPUT_TYPES } from './dispatch-processor';
import type { GatherInput } from './gather';
import { GATHER_INPUT_TYPES } from './gather-processor';
import { SEED_THRESHOLDS } from './quorum';

export type CoordinationLogOptions = ReplayLogOptions;

const isDispatchInput = isOneOf(DISPATCH_INPUT_TYPES);
const isGatherInput = isOneOf(GATHER_INPUT_TYPES);
const isCascadeInput = isOneOf(CASCADE_INPUT_TYPES);

/**
 * Whether `e` on `topic` (logical) is an output the replay compares: the coordinator's sends,
 * summaries, decisions, payload-mismatch reports (and their own-key copies) and cascade outputs.
 */
export function isCoordinationOutput(topic: string, e: SolvermeshEvent): e is CoordinationOutput {
  if (e.meta.producer !== PRODUCER) return false;
  switch (topic) {
    case DISPATCH: return e.type === 'MessageDispatched';
    case ACKS: return e.type === 'DispatchCompleted' || e.type === 'QuorumDecided';
    case CONFLICT_REPORTS: return e.type === 'ConflictReported' && e.forgery?.reason === PAYLOAD_HASH_MISMATCH;
    // Every one, own key or not: one the gather did not copy is then named (not recomputed).
    case AGENT_ACKS: return e.type === 'ConflictReported' && e.forgery?.reason === PAYLOAD_HASH_MISMATCH;
    case COORDINATION: return e.type === 'CoordinationRequested';
    case CASCADES: return e.type === 'CascadeStageDecided' || e.type === 'CascadeCompleted' || e.type === 'CascadeStageTimedOut';
    default: return false;
  }
}

export async function readCoordinationLog(o: CoordinationLogOptions): Promise<CoordinationLog> {
  const physical = (t: TopicName) => o.topicPrefix + t;
  const inputs: TopicName[] = [SCHEDULES, ACKS, CASCADES];
  const parts = (t: TopicName) => [...Array(topicSpec(t).partitions).keys()];
  // Before the log: an input below these offsets was handled in a transaction already visible.
  const committed = o.groupId
    ? await committedOffsets(o.brokers, o.groupId, inputs.flatMap((t) => parts(t).map((partition) => ({ topic: physical(t), partition }))))
    : undefined;
  const refused = await deadLettered(o.brokers, o.codec, inputs.map(physical), o.processor ?? 'coordinator');
  const schedules = new Map<number, Array<LoggedInput<DispatchInput>>>();
  const acks = new Map<number, Array<LoggedInput<GatherInput>>>();
  const cascades = new Map<number, Array<LoggedInput<CascadeInput>>>();
  const outputs = new Map<string, LoggedOutput>();
  const ownKeyCopies = new Map<string, LoggedCopy>();
  const duplicates: LoggedOutput[] = [];
  const push = <T>(m: Map<number, T[]>, p: number, x: T) => { const l = m.get(p); if (l) l.push(x); else m.set(p, [x]); };
  // A copy carries its report's event id: kept apart, so each is found written once on its own topic.
  const output = <X extends LoggedOutput>(m: Map<string, X>, x: X) => { if (m.has(x.event.meta.event_id)) duplicates.push(x); else m.set(x.event.meta.event_id, x); };
  await readLog(o.brokers, o.codec, [...inputs, DISPATCH, COORDINATION, CONFLICT_REPORTS, AGENT_ACKS].flatMap((t) => parts(t).map((partition) => ({ topic: physical(t), partition, from: 0 }))), {
    onRecord: (r) => {
      const e = r.event;
      if (!e || refused.has(`${r.topic}/${r.partition}/${r.offset}`)) return;
      if (o.validate && o.validate(e, r.timestampMs).length > 0) return;
      const topic = r.topic.slice(o.topicPrefix.length) as TopicName;
      const offset = Number(r.offset);
      if (topic === SCHEDULES && isDispatchInput(e)) push(schedules, r.partition, { offset, event: e });
      if (topic === ACKS && isGatherInput(e)) push(acks, r.partition, { offset, event: e });
      if (topic === CASCADES && isCascadeInput(e)) push(cascades, r.partition, { offset, event: e });
      if (r.value === null || !isCoordinationOutput(topic, e)) return;
      const recorded = { event: e, value: r.value, topic, partition: r.partition, offset };
      if (topic === AGENT_ACKS) output(ownKeyCopies, { ...recorded, key: r.key });
      else output(outputs, recorded);
    },
  });
  const byOffset = (a: { offset: number }, b: { offset: number }) => a.offset - b.offset;
  for (const m of [schedules, acks, cascades] as Array<Map<number, Array<{ offset: number }>>>) for (const l of m.values()) l.sort(byOffset);
  return {
    schedules, acks, cascades, outputs, ownKeyCopies, duplicates,
    ...(committed ? { handledBelow: new Map(inputs.flatMap((t) => parts(t).map((p) => [`${t}/${p}`, committed.get(`${physical(t)}/${p}`) ?? 0] as const))) } : {}),
  };
}

export interface CoordinationReplayOptions extends CoordinationLogOptions {
  /** COORDINATOR_GATHER_RETENTION_MS of the service. */
  readonly retentionMs: number;
  /** The service's MESH_SIGNING was required (the payload-mismatch reports' own_key). */
  readonly signaturesVerified?: boolean;
  readonly progress?: (inputs: number, total: number) => void;
}

/** The log read, every dispatch and quorum decision refolded and compared byte for byte. */
export async function replayCoordination(o: CoordinationReplayOptions): Promise<CoordinationReplay> {
  const log = await readCoordinationLog(o);
  return compareCoordination(log, {
    thresholds: SEED_THRESHOLDS, retentionUs: o.retentionMs * 1000, signaturesVerified: o.signaturesVerified === true,
    encode: (topic, e) => o.codec.encode(o.topicPrefix + topic, e),
    ...(o.progress ? { progress: o.progress } : {}),
  });
}
