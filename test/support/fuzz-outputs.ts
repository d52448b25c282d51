// What the services wrote during a fuzz run, in a form two runs of the same records compare in
// (issue 15: kills survived "with outputs identical to an uninterrupted run").
//
// Two runs of the same flood do not write the same logs byte for byte, kills or not: a topic fed
// from several input partitions or topics interleaves them as the consumers happen to fetch, and
// the records a service sequences by the clock (window deadlines, ticks, its key registration)
// have random ids and wall-clock times. What must match is each effect of the flood: every event
// whose causation chain reaches a fuzzed record (event ids derive from their cause, so the same
// cause gives the same id) once, with the same content, and every dead letter of a fuzzed record
// (keyed by its source position and processor) with the same reason. Left out of the content:
// offsets, record timestamps, the wall-clock timings events carry (iteration_time_ms,
// verification_time_ms), the times in a dead letter's reason, and the run's topic prefix.
// Events not rooted in the flood (clock-driven) are counted per topic, not compared. Nor is what a
// run refused by the codec's miss budget for unknown schema ids ("was not looked up"): which
// records meet the spent budget depends on the clock (see the README on that loss of valid
// records); such records, their dead letters and what they would have caused are left out of
// both runs and counted.
import { isCoordinationOutput } from '../../services/coordinator/coordination-log';
import { readLog } from '../../services/runtime/kafka/log-reader';
import { DLQ_HEADERS } from '../../services/runtime/dead-letter';
import { allTopicSpecs } from '../../topics/catalog';
import type { Fuzzed } from './fuzz';
import type { TestKafka } from './kafka';

/**
 * One record a service wrote: `id` names the effect (topic + event id + producer, or dead letter's
 * source + processor). The producer is part of the name: a refused record's report derives its id
 * from the record's position (identity/reports.ts), so each service reading the topic (impedance
 * and the coordinator both read mesh.acks) writes the same event id once, by design, and the
 * conflict book folds one conflict. The same event id twice from one producer is a duplicated effect.
 */
export interface Output {
  readonly topic: string; readonly id: string; readonly causation: string | null; readonly eventId: string | null; readonly producer: string | null; readonly type: string | null; readonly body: string;
  /** A dead letter of a record the services wrote: that record's event id (the dead letter takes its class). */
  readonly sourceEventId?: string;
  /** An output the coordination replay compares (coordination-log.ts isCoordinationOutput). */
  readonly coordination?: true;
}

/**
 * Which test an effect's equality takes (issue 15, "outputs identical to an uninterrupted run"):
 *   data      decided by the flood's records alone (solver, verifier, consensus, the impedance fold,
 *             conflict quarantine, dead letters): equal to the reference run's
 *   guardian  the guardian's breakers, modes and witnesses: decided at ticks it writes onto its own
 *             input (mesh.guardian) at wall-clock moments, so equal to a replay of its own log
 *             (services/guardian/replay.ts, run on each run), not to another run
 *   schedule  send schedules: read from the registry and the breakers as they are when the request
 *             is read, so equal to a replay of the run's own log at the positions each names
 *             (services/impedance/schedule-replay.ts, run on each run), not to another run
 *   summary   the impedance's own cluster, sector and mesh summaries (producer impedance; a fuzzed
 *             MeshSummarized the guardian copies stays clocked, as before): read from the whole registry at
 *             ticks reached at wall-clock moments, so equal to a replay of the run's own log at
 *             the registry positions each names (services/impedance/summary-replay.ts, run on
 *             each run; the prediction-accuracy fields included), not to another run
 *   coordination  the coordinator's sends, dispatch summaries, quorum decisions, payload-mismatch
 *             reports (and their own-key copies on mesh.agent-acks) and cascade outputs (stage
 *             decision copies, stage requests, cascade ends, stage deadlines passed on):
 *             decided at ticks on its own inputs (DispatchDue, GatherWindowClosed, stage
 *             deadlines), so equal to a refold of the run's own mesh.schedules, mesh.acks and
 *             mesh.cascades (services/coordinator/coordination-replay.ts, run on each run)
 *   clocked   decided at a wall-clock moment, with no replay tool yet: the coordinator's ticks
 *             themselves (DispatchDue / GatherWindowClosed), a fuzzed MeshSummarized the guardian
 *             copies; counted, not proven
 * An effect caused by a guardian, schedule, summary, coordination or clocked one (or carrying its event id, as copies do) is clocked.
 */
export type EffectClass = 'data' | 'guardian' | 'schedule' | 'summary' | 'coordination' | 'clocked';
const CLOCKED_TYPES = new Set(['MeshSummarized', 'DispatchDue', 'GatherWindowClosed']);
const SUMMARY_TYPES = new Set(['ClusterSummarized', 'SectorSummarized', 'MeshSummarized']);

/** Each event id's class (dead letters are data). */
export function classesOf(records: readonly Output[]): Map<string, EffectClass> {
  const cls = new Map<string, EffectClass>();
  for (const r of records) {
    if (r.eventId === null) continue;
    const c: EffectClass | undefined = r.producer === 'guardian' ? 'guardian' : r.type === 'ScheduleComputed' ? 'schedule'
      : r.producer === 'impedance' && r.type !== null && SUMMARY_TYPES.has(r.type) ? 'summary' : r.coordination ? 'coordination'
      : r.type !== null && CLOCKED_TYPES.has(r.type) ? 'clocked' : undefined;
    if (c && cls.get(r.eventId) !== 'guardian') cls.set(r.eventId, c);
  }
  for (let grew = true; grew;) {
    grew = false;
    for (const r of records) {
      if (r.eventId === null || cls.has(r.eventId) || r.causation === null || !cls.has(r.causation)) continue;
      cls.set(r.eventId, 'clocked');
      grew = true;
    }
  }
  return cls;
}

export interface ServiceOutputs {
  readonly records: readonly Output[];
  /** Event ids of the fuzzed records: the roots. */
  readonly roots: ReadonlySet<string>;
  /** Dead letters (ids) that the miss budget refused unasked, and the event ids of their records when known. */
  readonly budgetRefused: ReadonlySet<string>;
}

const BUDGET = /was not looked up: more than/;

const WALL_CLOCK = new Set(['iteration_time_ms', 'verification_time_ms']);

export async function readOutputs(k: TestKafka, fuzzed: readonly Fuzzed[]): Promise<ServiceOutputs> {
  const skip = new Set(fuzzed.map((f) => `${f.topic}/${f.partition}/${f.offset}`));
  const specs = allTopicSpecs(k.prefix);
  const ranges = specs.flatMap((s) => Array.from({ length: s.partitions }, (_, p) => ({ topic: s.name, partition: p, from: 0 })));
  const logged = await readLog(k.brokers, k.codec, ranges, { decode: false });
  const unprefix = (s: string) => s.split(k.prefix).join('');
  const records: Output[] = [];
  const budgetRefused = new Set<string>();
  const fuzzedAt = new Map(fuzzed.map((f) => [`${f.topic}/${f.partition}/${f.offset}`, f]));
  for (const r of logged) {
    const topic = unprefix(r.topic);
    if (skip.has(`${topic}/${r.partition}/${r.offset}`)) continue;
    if (topic.endsWith('.dlq')) {
      const h = r.headers;
      const at = `${topic.slice(0, -'.dlq'.length)}/${h[DLQ_HEADERS.sourcePartition]}/${h[DLQ_HEADERS.sourceOffset]}`;
      // A dead letter of a fuzzed record is named by the record's position (the same in every run);
      // one of a record the services wrote themselves by that record's event id and producer: where
      // it sits depends on how the services' writes interleaved.
      let source = `${topic} ${h[DLQ_HEADERS.sourcePartition]}/${h[DLQ_HEADERS.sourceOffset]} ${h[DLQ_HEADERS.processor]}`;
      let sourceEventId: string | undefined;
      if (!fuzzedAt.has(at) && r.value) {
        const own = await k.codec.decode(r.value).then((d) => d.event, () => undefined);
        if (own) { source = `${topic} own ${own.meta.event_id} by ${own.meta.producer} ${h[DLQ_HEADERS.processor]}`; sourceEventId = own.meta.event_id; }
      }
      // The reason without what the clock said: the source's record timestamp (an event-time skew),
      // how long an unknown schema id was asked for (its grace, or none once the miss budget is spent).
      const reason = `${h[DLQ_HEADERS.errorClass]}: ${(h[DLQ_HEADERS.errorMessage] ?? '').replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<time>').replace(/ after \d+ ms of asking/, '')
        // How long ago the id was first asked for, and how far an event time is from its record's
        // timestamp (a fuzzed record carries the same one in every run; a record the services
        // wrote themselves, the time of its writing).
        .replace(/ \(asked \d+ s ago\)/, '').replace(/ is [\d.]+ (ms|s|min|h|days?|years?) (ahead of|behind) /, ' is <skew> $2 ')}`;
      records.push({ topic, id: source, causation: null, eventId: null, producer: null, type: null, body: unprefix(`${r.key ?? ''} ${reason}`), ...(sourceEventId ? { sourceEventId } : {}) });
      if (BUDGET.test(reason)) {
        budgetRefused.add(source);
        const f = fuzzedAt.get(at);
        if (f?.eventId) budgetRefused.add(f.eventId);
      }
      continue;
    }
    let event;
    try { event = (await k.codec.decode(r.value)).event; } catch { continue; } // the services write only what decodes
    const body = JSON.stringify(event, (key, v: unknown) => (WALL_CLOCK.has(key) ? undefined : typeof v === 'bigint' ? String(v) : v));
    records.push({
      topic, id: `${topic} ${event.meta.event_id} ${event.meta.producer}`, causation: event.meta.causation_id ?? null, eventId: event.meta.event_id, producer: event.meta.producer, type: event.type,
      body: unprefix(`${r.key ?? ''} ${body}`), ...(isCoordinationOutput(topic, event) ? { coordination: true as const } : {}),
    });
  }
  return { records, roots: new Set(fuzzed.flatMap((f) => (f.eventId ? [f.eventId] : []))), budgetRefused };
}

/** The outputs whose causation chain reaches a fuzzed record (or that carry a fuzzed record's own id, as copies do); dead letters of fuzzed records. */
function rooted(o: ServiceOutputs, leftOut: ReadonlySet<string>): { rooted: Output[]; others: Output[] } {
  const reached = new Set([...o.roots].filter((id) => !leftOut.has(id)));
  let grew = true;
  while (grew) {
    grew = false;
    for (const r of o.records) {
      if (r.eventId === null || reached.has(r.eventId)) continue;
      if (r.causation !== null && reached.has(r.causation)) { reached.add(r.eventId); grew = true; }
    }
  }
  const isRooted = (r: Output) => (r.eventId === null ? !leftOut.has(r.id) : reached.has(r.eventId));
  return { rooted: o.records.filter(isRooted), others: o.records.filter((r) => !isRooted(r) && !(r.eventId === null && leftOut.has(r.id))) };
}

export interface OutputComparison {
  /** Effects of the flood in the reference run. */
  readonly compared: number;
  readonly identical: number;
  readonly differentContent: ReadonlyArray<{ id: string; reference: string; other: string }>;
  readonly onlyInReference: readonly Output[];
  readonly onlyInOther: readonly Output[];
  /** Effects written more than once in the other run (a duplicated effect). */
  readonly duplicated: ReadonlyArray<{ id: string; times: number }>;
  /** The same in the reference run. */
  readonly duplicatedInReference: ReadonlyArray<{ id: string; times: number }>;
  /** Records refused by the miss budget in either run (dead letters, and fuzzed records with an event id): left out. */
  readonly budgetLeftOut: number;
  /** Clock-driven records per topic: [reference, other]. */
  readonly notRooted: ReadonlyMap<string, readonly [number, number]>;
  /** Each difference's class, and per class: effects in the reference, identical. */
  readonly classOf: ReadonlyMap<string, EffectClass>;
  readonly byClass: Readonly<Record<EffectClass, { compared: number; identical: number }>>;
  /** Event ids that more than one producer wrote in the other run (a refused record reported by each reader: by design), by type and producers. */
  readonly sharedByReaders: ReadonlyMap<string, number>;
}

export function compareOutputs(reference: ServiceOutputs, other: ServiceOutputs): OutputComparison {
  const leftOut = new Set([...reference.budgetRefused, ...other.budgetRefused]);
  const a = rooted(reference, leftOut);
  const b = rooted(other, leftOut);
  const ca = classesOf(reference.records);
  const cb = classesOf(other.records);
  // A class in either run: an effect decided at a tick in one run is one in the other.
  const clsOf = (o: Output): EffectClass => {
    const id = o.eventId ?? o.sourceEventId;
    return id === undefined ? 'data' : ca.get(id) ?? cb.get(id) ?? 'data';
  };
  const byId = (xs: readonly Output[]) => { const m = new Map<string, Output[]>(); for (const x of xs) m.set(x.id, [...(m.get(x.id) ?? []), x]); return m; };
  const ma = byId(a.rooted);
  const mb = byId(b.rooted);
  const differentContent: Array<{ id: string; reference: string; other: string }> = [];
  const onlyInReference: Output[] = [];
  let identical = 0;
  for (const [id, [x]] of ma) {
    const y = mb.get(id)?.[0];
    if (!y) onlyInReference.push(x!);
    else if (y.body === x!.body) identical++;
    else differentContent.push({ id, reference: x!.body, other: y.body });
  }
  const onlyInOther = [...mb].filter(([id]) => !ma.has(id)).map(([, [y]]) => y!);
  const dupes = (m: Map<string, Output[]>) => [...m].filter(([, ys]) => ys.length > 1).map(([id, ys]) => ({ id, times: ys.length }));
  const duplicated = dupes(mb);
  const duplicatedInReference = dupes(ma);
  const notRooted = new Map<string, [number, number]>();
  for (const r of a.others) notRooted.set(r.topic, [(notRooted.get(r.topic)?.[0] ?? 0) + 1, notRooted.get(r.topic)?.[1] ?? 0]);
  for (const r of b.others) notRooted.set(r.topic, [notRooted.get(r.topic)?.[0] ?? 0, (notRooted.get(r.topic)?.[1] ?? 0) + 1]);
  const classOf = new Map<string, EffectClass>();
  const byClass: Record<EffectClass, { compared: number; identical: number }> = { data: { compared: 0, identical: 0 }, guardian: { compared: 0, identical: 0 }, schedule: { compared: 0, identical: 0 }, summary: { compared: 0, identical: 0 }, coordination: { compared: 0, identical: 0 }, clocked: { compared: 0, identical: 0 } };
  for (const [id, [x]] of ma) {
    const c = clsOf(x!);
    classOf.set(id, c);
    byClass[c].compared++;
    const y = mb.get(id)?.[0];
    if (y && y.body === x!.body) byClass[c].identical++;
  }
  for (const [id, [y]] of mb) if (!classOf.has(id)) classOf.set(id, clsOf(y!));
  const producers = new Map<string, { type: string; by: Set<string> }>();
  for (const r of b.rooted) {
    if (r.eventId === null) continue;
    const k = `${r.topic} ${r.eventId}`;
    const x = producers.get(k) ?? { type: `${r.topic} ${r.type}`, by: new Set<string>() };
    x.by.add(r.producer ?? '');
    producers.set(k, x);
  }
  const sharedByReaders = new Map<string, number>();
  for (const { type, by } of producers.values()) if (by.size > 1) { const k = `${type} by ${[...by].sort().join(' and ')}`; sharedByReaders.set(k, (sharedByReaders.get(k) ?? 0) + 1); }
  return { compared: ma.size, identical, differentContent, onlyInReference, onlyInOther, duplicated, duplicatedInReference, budgetLeftOut: leftOut.size, notRooted, classOf, byClass, sharedByReaders };
}

/** Whether the other run holds exactly the reference's effects of the flood. */
export const sameEffects = (c: OutputComparison): boolean =>
  c.differentContent.length === 0 && c.onlyInReference.length === 0 && c.onlyInOther.length === 0 && c.duplicated.length === 0 && c.duplicatedInReference.length === 0;

/** The differences of one class. */
export function differencesOf(c: OutputComparison, cls: EffectClass): { other: number; missing: number; extra: number; duplicated: number } {
  const is = (id: string) => (c.classOf.get(id) ?? 'data') === cls;
  return {
    other: c.differentContent.filter((d) => is(d.id)).length, missing: c.onlyInReference.filter((o) => is(o.id)).length,
    extra: c.onlyInOther.filter((o) => is(o.id)).length, duplicated: c.duplicated.filter((d) => is(d.id)).length,
  };
}

/** The ids of every difference a comparison found. */
export const differingIds = (c: OutputComparison): Set<string> =>
  new Set([...c.differentContent.map((d) => d.id), ...c.onlyInReference.map((o) => o.id), ...c.onlyInOther.map((o) => o.id), ...c.duplicated.map((d) => d.id)]);
