// One coordination request as the CLI's `mesh coordinate` and the MCP's mesh_coordinate send it:
// checked as the impedance service would check it, sent on mesh.coordination, and, when asked,
// its answers read from where the logs ended before the send: the schedule the impedance service
// computes (mesh.schedules) and the quorum the coordinator decides from the agents' acks
// (mesh.acks). Each wait is bounded; a missing answer is said, never made up.
import type { CoordinationRequested, QuorumDecided, ScheduleEntry } from '../../schemas/generated/events';
import { topicSpec } from '../../topics/catalog';
import { ScheduleGather, summarizeSchedule, type ScheduleSummary } from '../impedance/coordination';
import { EventCodec } from '../runtime/codec';
import type { RuntimeConfig } from '../runtime/config';
import { errorMessage } from '../runtime/errors';
import { endOffsets, readLog, type LogRecord } from '../runtime/kafka/log-reader';
import { problemsOf, type EventSender } from './event-sender';

export interface CoordinationWaits {
  /** How long to wait for the whole schedule; undefined: do not wait. */
  readonly scheduleMs?: number;
  /** How long to wait for the QuorumDecided; undefined: do not wait. */
  readonly quorumMs?: number;
}

export interface CoordinationOutcome {
  readonly correlation_id: string;
  readonly message_id: string;
  readonly target_arrival_time: number;
  readonly sent: { readonly topic: 'mesh.coordination'; readonly partition: number; readonly offset: number };
  readonly schedule: { readonly summary: ScheduleSummary; readonly entries: ScheduleEntry[] } | null;
  /** Why there is no schedule when one was waited for. */
  readonly scheduleMissing: string | null;
  readonly quorum: QuorumDecided | null;
  readonly quorumMissing: string | null;
  /** Why the mesh refused the whole request (its operational mode, a freeze); null when scheduled. */
  readonly refused: string | null;
}

/** Sends `req` (refused before sending when the service would dead-letter it) and waits as asked. */
export async function requestCoordination(config: RuntimeConfig, sender: Pick<EventSender, 'sendKeyed'>, req: CoordinationRequested, waits: CoordinationWaits = {}): Promise<CoordinationOutcome> {
  const problems = problemsOf(req);
  if (problems.length > 0) throw new Error(`the request would be dead-lettered: ${problems.slice(0, 3).join('; ')}; nothing was sent`);
  const id = req.meta.correlation_id;
  const follow = async (topic: 'mesh.schedules' | 'mesh.acks', ms: number | undefined) => {
    if (ms === undefined) return undefined;
    const physical = config.topicPrefix + topic;
    const from = await endOffsets(config.kafkaBrokers, physical, topicSpec(topic).partitions);
    return { physical, ms, ranges: from.map((f, p) => ({ topic: physical, partition: p, from: f })) };
  };
  const [schedules, acks] = await Promise.all([follow('mesh.schedules', waits.scheduleMs), follow('mesh.acks', waits.quorumMs)]);
  const [at] = await sender.sendKeyed('mesh.coordination', [{ key: id, event: req }]);
  const codec = new EventCodec(config.schemaRegistryUrl);
  const gather = new ScheduleGather(id);
  let quorum: QuorumDecided | null = null;
  const wait = async (f: typeof schedules, done: () => boolean, onRecord: (r: LogRecord) => void, missing: (err: string) => string): Promise<string | null> => {
    if (!f) return null;
    try {
      await readLog(config.kafkaBrokers, codec, f.ranges, { timeoutMs: f.ms, until: done, onRecord });
      return null;
    } catch (err) {
      return missing(errorMessage(err));
    }
  };
  const [scheduleMissing, quorumMissing] = await Promise.all([
    wait(schedules, () => gather.complete, (r) => { if (r.event?.type === 'ScheduleComputed') gather.add(r.event); },
      (err) => `no complete schedule for ${id} on ${schedules!.physical} within ${schedules!.ms / 1000} s (is the impedance service running?); the request was sent. ${err}`),
    wait(acks, () => quorum !== null, (r) => { if (r.event?.type === 'QuorumDecided' && r.event.meta.correlation_id === id) quorum = r.event; },
      (err) => `no QuorumDecided for ${id} on ${acks!.physical} within ${acks!.ms / 1000} s: the coordinator service decides quorum from the targets' acks on mesh.acks, so it must run and the agents must answer; the request was sent. ${err}`),
  ]);
  const entries = gather.complete ? gather.entries() : [];
  return {
    correlation_id: id, message_id: req.message_id, target_arrival_time: req.target_arrival_time,
    sent: { topic: 'mesh.coordination', partition: at!.partition, offset: at!.offset },
    schedule: gather.complete ? { summary: summarizeSchedule(entries, req.target_arrival_time), entries } : null,
    scheduleMissing, quorum, quorumMissing, refused: gather.complete ? gather.refusedReason : null,
  };
}
