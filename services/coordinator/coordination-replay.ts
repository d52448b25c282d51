// Replay of the coordinator's dispatch and gather (DESIGN invariant 3). Both read only their own
// input partitions: a coordination's schedule chunks and the DispatchDue ticks the coordinator
// sequences among them on mesh.schedules, its dispatch summary, acks, window deadlines and
// decisions read back on mesh.acks. The ticks' wall clock only chose where they landed; what they
// do is decided by where they are. So a refold of each partition, record by record, with the
// service's own steps (dispatchStep, gatherStep) must write every MessageDispatched,
// DispatchCompleted and QuorumDecided again, each naming the input record it was decided at
// (applied_through), byte for byte. None of their fields is wall-clock-only: dispatched_at and
// occurred_at are the event time of the tick or ack that caused them, which is in the log.
//
// The gather's payload-mismatch reports (ConflictReported on mesh.conflicts, mismatchReports) are
// decided at the same mesh.acks records, and a cascade stage's QuorumDecided read there is copied
// into its cascade's partition (CascadeStageDecided, stageDecidedOf). The cascades are refolded
// from their mesh.cascades partitions (requests, copies and stage deadline ticks, as the cascade
// processor folds them: cascadeStep), and every stage request (CoordinationRequested on
// mesh.coordination) and CascadeCompleted compared too. A copy the cascade processor stepped in
// the transaction that wrote it (marked `stepped`, taken as recorded) caused outputs that name its
// QuorumDecided on mesh.acks instead of the copy's own position, which was not known yet; they
// must still be what the copy steps to where it landed (cascade-processor.ts stepNow).
// A stage deadline the dispatch passes on to the cascade's partition (dispatchStep's `deadline`) is
// compared at its tick on mesh.schedules; the ticks themselves are inputs (their wall clock only
// chose where they landed).
//
// A report whose ack only its agent could have signed (copiedToAgent) is written twice in one
// transaction, with one event id: on mesh.conflicts, and on mesh.agent-acks keyed by the agent,
// where the impedance fold counts it toward the agent's quarantine. The copies are compared apart
// from the outputs (same id, another topic): each byte for byte, keyed by its agent, once.
import type {
  CascadeCompleted, CascadeStageDecided, CascadeStageTimedOut, ConflictReported, CoordinationRequested, DispatchCompleted, InputPosition, MessageDispatched, QuorumDecided,
} from '../../schemas/generated/events';
import type { TopicName } from '../../topics/catalog';
import { firstDifference } from '../runtime/divergence';
import { cascadeStep, NO_CASCADE, stageDecidedOf, type Cascade, type CascadeInput } from './cascade';
import { dispatchStep, NO_DISPATCH, type Dispatch, type DispatchInput } from './dispatch';
import { copiedToAgent, mismatchReports, type GatherInput } from './gather';
import { gatherOf, gatherStep, newGatherBook } from './gather-book';
import type { QuorumThresholds } from './quorum';

export const SCHEDULES: TopicName = 'mesh.schedules';
export const ACKS: TopicName = 'mesh.acks';
export const DISPATCH: TopicName = 'mesh.dispatch';
export const CASCADES: TopicName = 'mesh.cascades';
export const COORDINATION: TopicName = 'mesh.coordination';
export const CONFLICT_REPORTS: TopicName = 'mesh.conflicts';
/** Where the own-key reports are copied (coordinator/index.ts ownKeyCopies). */
export const AGENT_ACKS: TopicName = 'mesh.agent-acks';

export type CoordinationOutput =
  | MessageDispatched | DispatchCompleted | QuorumDecided | ConflictReported | CascadeStageDecided | CoordinationRequested | CascadeCompleted | CascadeStageTimedOut;

export interface LoggedInput<E> {
  readonly offset: number;
  readonly event: E;
}

/** A recorded output: the event as decoded, its bytes as written, and where (logical topic). */
export interface LoggedOutput {
  readonly event: CoordinationOutput;
  readonly value: Buffer;
  readonly topic: TopicName;
  readonly partition: number;
  readonly offset: number;
}

/** A recorded own-key copy of a report, with its key: the agent, whose partition of mesh.agent-acks its fold reads. */
export interface LoggedCopy extends LoggedOutput {
  readonly key: string | null;
}

/** What the replay reads of the log (coordination-log.ts reads it from Kafka; a spec may change it). */
export interface CoordinationLog {
  /** The inputs the coordinator took (not dead-lettered), per partition in offset order. */
  readonly schedules: ReadonlyMap<number, ReadonlyArray<LoggedInput<DispatchInput>>>;
  readonly acks: ReadonlyMap<number, ReadonlyArray<LoggedInput<GatherInput>>>;
  /** Absent: the cascades are not replayed (nor their outputs recorded). */
  readonly cascades?: ReadonlyMap<number, ReadonlyArray<LoggedInput<CascadeInput>>>;
  /** The coordinator's outputs by event id. */
  readonly outputs: ReadonlyMap<string, LoggedOutput>;
  /** The own-key copies of its payload-mismatch reports on mesh.agent-acks, by event id (the report's). */
  readonly ownKeyCopies: ReadonlyMap<string, LoggedCopy>;
  /** Outputs (or copies) whose event id was written more than once on their topic (an effect duplicated). */
  readonly duplicates: readonly LoggedOutput[];
  /** `topic/partition` (logical) -> the group's committed offset: inputs below it must have their outputs written. */
  readonly handledBelow?: ReadonlyMap<string, number>;
}

export interface CoordinationDivergence {
  /** The input the output was decided at (`mesh.acks 2/140`), or where a recorded output sits. */
  readonly at: string;
  readonly kind: 'differs' | 'not recorded' | 'not recomputed' | 'recorded twice';
  readonly type: CoordinationOutput['type'];
  readonly eventId: string;
  /** Set when the output is a report's own-key copy on this topic (mesh.agent-acks), not the report. */
  readonly copiedTo?: TopicName;
  /** The first field that differs (`ready_count`, `applied_through.offset`), with both values. */
  readonly field?: string;
  readonly recorded?: unknown;
  readonly recomputed?: unknown;
}

export interface CoordinationReplay {
  readonly ok: boolean;
  /** Inputs refolded, outputs recomputed / recorded / identical byte for byte. */
  readonly inputs: number;
  readonly recomputed: number;
  readonly recorded: number;
  readonly identical: number;
  /** Of those recorded, own-key copies on mesh.agent-acks. */
  readonly copies: number;
  /** Recorded outputs from before applied_through was written (compared without it). */
  readonly unpositioned: number;
  readonly divergence?: CoordinationDivergence;
}

export interface ReplayOptions {
  readonly thresholds: QuorumThresholds;
  /** The coordinator's COORDINATOR_GATHER_RETENTION_MS, µs: the gathers' book drops ids by it. */
  readonly retentionUs: number;
  /** The bytes the service would write: Confluent framing of `event` on `topic` (logical). */
  readonly encode: (topic: TopicName, event: CoordinationOutput) => Promise<Buffer>;
  /** The coordinator's MESH_SIGNING was required: a signed ack with the wrong payload is its agent's own (the reports' own_key). */
  readonly signaturesVerified?: boolean;
  /** Called every so many inputs (the CLI prints it on stderr). */
  readonly progress?: (inputs: number, total: number) => void;
}

const where = (p: InputPosition) => `${p.topic} ${p.partition}/${p.offset}`;

/**
 * Refolds every partition of mesh.schedules, then of mesh.acks, and compares each output (and
 * own-key copy) with the recorded one of its event id byte for byte; then every recorded output
 * and copy must have been recomputed. Stops at the first divergence.
 */
export async function compareCoordination(log: CoordinationLog, o: ReplayOptions): Promise<CoordinationReplay> {
  let inputs = 0, recomputed = 0, identical = 0, unpositioned = 0;
  const seen = new Set<string>();
  const seenCopies = new Set<string>();
  const result = (divergence?: CoordinationDivergence): CoordinationReplay => ({
    ok: !divergence, inputs, recomputed, recorded: log.outputs.size + log.ownKeyCopies.size, identical, copies: log.ownKeyCopies.size, unpositioned, ...(divergence ? { divergence } : {}),
  });
  const copiedTo = (topic: TopicName) => (topic === AGENT_ACKS ? { copiedTo: AGENT_ACKS } : {});
  const dup = log.duplicates[0];
  if (dup) return result({ at: `${dup.topic} ${dup.partition}/${dup.offset}`, kind: 'recorded twice', type: dup.event.type, eventId: dup.event.meta.event_id, ...copiedTo(dup.topic) });
  const total = [...log.schedules.values(), ...log.acks.values(), ...(log.cascades?.values() ?? [])].reduce((n, l) => n + l.length, 0);

  /** Compares the outputs of the input at `at`, then the own-key copies of its reports; a divergence, or null. */
  async function check(at: InputPosition, outputs: readonly CoordinationOutput[], copies: readonly ConflictReported[] = []): Promise<CoordinationDivergence | null> {
    if (++inputs % 10_000 === 0) o.progress?.(inputs, total);
    for (const e of outputs) {
      const d = await compare(at, e, log.outputs.get(e.meta.event_id), seen);
      if (d) return d;
    }
    for (const e of copies) {
      const rec = log.ownKeyCopies.get(e.meta.event_id);
      // Keyed by its agent, or the agent's fold (its partition of mesh.agent-acks) never reads it.
      if (rec && rec.key !== e.agent_id) {
        recomputed++;
        return { at: where(at), kind: 'differs', type: e.type, eventId: e.meta.event_id, copiedTo: AGENT_ACKS, field: 'key', recorded: rec.key, recomputed: e.agent_id };
      }
      const d = await compare(at, e, rec, seenCopies);
      if (d) return { ...d, copiedTo: AGENT_ACKS };
    }
    return null;
  }

  /** One recomputed output against `rec`, the one recorded with its event id (`seenIn` notes it compared). */
  async function compare(at: InputPosition, e: CoordinationOutput, rec: LoggedOutput | undefined, seenIn: Set<string>): Promise<CoordinationDivergence | null> {
    recomputed++;
    const id = e.meta.event_id;
    if (!rec) {
      const below = log.handledBelow?.get(`${at.topic}/${at.partition}`);
      return below === undefined || at.offset < below ? { at: where(at), kind: 'not recorded', type: e.type, eventId: id, recomputed: e } : null;
    }
    seenIn.add(id);
    // An output written before the field was carried names no position: compared without it.
    // Whether a copy was stepped when written is the service's choice (it held the partition): taken as recorded.
    const positioned = rec.event.applied_through === null ? { ...e, applied_through: null } : e;
    const expected = positioned.type === 'CascadeStageDecided' && rec.event.type === 'CascadeStageDecided' ? { ...positioned, stepped: rec.event.stepped } : positioned;
    if (rec.event.applied_through === null) unpositioned++;
    if (!(await o.encode(rec.topic, expected)).equals(rec.value)) {
      const d = firstDifference(rec.event, expected);
      return { at: where(at), kind: 'differs', type: e.type, eventId: id, field: d?.path ?? '(bytes)', recorded: d?.a, recomputed: d?.b };
    }
    identical++;
    return null;
  }

  for (const [partition, records] of [...log.schedules].sort((a, b) => a[0] - b[0])) {
    const dispatches = new Map<string, Dispatch>();
    for (const r of records) {
      const c = r.event.meta.correlation_id;
      const { events, after, deadline } = dispatchStep(dispatches.get(c) ?? NO_DISPATCH, r.event, { topic: SCHEDULES, partition, offset: r.offset });
      dispatches.set(c, after);
      const d = await check({ topic: SCHEDULES, partition, offset: r.offset }, [...events, ...(deadline ? [deadline] : [])]);
      if (d) return result(d);
    }
  }
  for (const [partition, records] of [...log.acks].sort((a, b) => a[0] - b[0])) {
    const book = newGatherBook();
    for (const r of records) {
      const at = { topic: ACKS, partition, offset: r.offset };
      const reports = mismatchReports(gatherOf(book, r.event.meta.correlation_id), r.event, at, o.signaturesVerified === true);
      const copy = log.cascades && r.event.type === 'QuorumDecided' ? stageDecidedOf(r.event, at) : null;
      const d = await check(at, [...reports, ...gatherStep(book, r.event, o.thresholds, o.retentionUs, at), ...(copy ? [copy] : [])], reports.filter(copiedToAgent));
      if (d) return result(d);
    }
  }
  for (const [partition, records] of [...(log.cascades ?? [])].sort((a, b) => a[0] - b[0])) {
    const cascades = new Map<string, Cascade>();
    for (const r of records) {
      const c = r.event.meta.correlation_id;
      const own: InputPosition = { topic: CASCADES, partition, offset: r.offset };
      // Stepped in the transaction that wrote the copy: its outputs name the copy's QuorumDecided.
      const stepped = r.event.type === 'CascadeStageDecided' && r.event.stepped === true ? r.event.applied_through : null;
      const { next, out } = cascadeStep(cascades.get(c) ?? NO_CASCADE, r.event, stepped ?? own);
      cascades.set(c, next);
      const d = await check(own, out);
      if (d) return result(d);
    }
  }
  const stray = [...log.outputs.values()].find((rec) => !seen.has(rec.event.meta.event_id)) ?? [...log.ownKeyCopies.values()].find((rec) => !seenCopies.has(rec.event.meta.event_id));
  if (stray) {
    const cause = stray.event.applied_through;
    return result({
      at: cause ? where(cause) : `${stray.topic} ${stray.partition}/${stray.offset}`, kind: 'not recomputed', type: stray.event.type, eventId: stray.event.meta.event_id,
      ...copiedTo(stray.topic), recorded: stray.event,
    });
  }
  return result();
}

/** One line for the CLI and the soak: the counts, or the first divergence with both values. */
export function coordinationLine(r: CoordinationReplay): string {
  const counts = `${r.inputs} inputs refolded, ${r.recomputed} outputs recomputed, ${r.recorded} recorded${r.copies > 0 ? ` (${r.copies} own-key copies on ${AGENT_ACKS})` : ''}` +
    `${r.unpositioned > 0 ? `, ${r.unpositioned} from before applied_through` : ''}`;
  if (r.ok) return `${r.identical} dispatch, quorum, payload-mismatch and cascade events identical byte for byte (${counts})`;
  const d = r.divergence!;
  return `DIVERGED at ${d.type} ${d.eventId}${d.copiedTo ? ` copied to ${d.copiedTo}` : ''} (input ${d.at}): ${d.kind}${d.field ? ` at ${d.field}` : ''} (${r.identical} identical before it; ${counts}); ` +
    `recorded ${JSON.stringify(d.recorded ?? null)}; recomputed ${JSON.stringify(d.recomputed ?? null)}`;
}
