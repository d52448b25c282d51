// Schema-aware and raw-byte fuzzing of every input topic of every processor service (issue 15),
// shared by the int spec (CI size) and `make soak` (bench/soak). Every service runs once as a
// child process (`solvermesh run`, as the solver's specs start it) on the run's own topics; each
// input topic gets a seeded mix of records:
//   valid     arbitrary events of the topic's types (schemas/arbitrary.ts), keyed as the topic says
//   hostile   the same with one value pushed to or past the schema's limits (schemas/validate.ts
//             DEFAULT_LIMITS, ranges, non-finite numbers, separators), re-keyed, or dated years ahead
//   raw       random bytes, a valid record cut short or with flipped bytes, an unknown schema id
// A record is invalid when the runner's own checks refuse it (decode, validateEvent, key, event-time
// bound); the test decides that with the same functions. Then: every invalid record has a dead
// letter with a reason from each service that reads its topic; no valid record has one for a decode
// or validation reason; every service's group commits past every record; every service is alive.
import { readFileSync } from 'node:fs';
import { Partitioners } from 'kafkajs';
import { partitionOf } from '../../bench/solver-service/clients';
import { arbitraryEvent, seededRng, type Rng } from '../../schemas/arbitrary';
import type { EventType, SolvermeshEvent } from '../../schemas/generated/events';
import { DEFAULT_LIMITS, validateEvent } from '../../schemas/validate';
import { CONSENSUS_INPUT_TYPES } from '../../services/consensus/processor';
import { CONFLICT_PROCESSOR_TYPES } from '../../services/coordinator/conflict-processor';
import { DISPATCH_INPUT_TYPES } from '../../services/coordinator/dispatch-processor';
import { GATHER_INPUT_TYPES } from '../../services/coordinator/gather-processor';
import { GUARDIAN_INPUT_TYPES } from '../../services/guardian/core';
import { IMPEDANCE_INPUT_TYPES } from '../../services/impedance/processor';
import { SERVICES } from '../../services/registry';
import { SOLVER_INPUT_TYPES } from '../../services/solver/processor';
import { VERIFIER_INPUT_TYPES } from '../../services/verifier/processor';
import { EventCodec } from '../../services/runtime/codec';
import { DLQ_HEADERS } from '../../services/runtime/dead-letter';
import { DEFAULT_UNKNOWN_ID_POLICY } from '../../services/runtime/unknown-schema-ids';
import { committedOffsets, partitionEnds, readLog } from '../../services/runtime/kafka/log-reader';
import { keyOfTopic, misKeyed } from '../../services/runtime/record-key';
import { eventTimeBound, readServiceConfig } from '../../services/runtime/service';
import { eventTimeSkew, withEventTimeBound } from '../../services/runtime/event-time';
import { dlqName, TOPICS } from '../../topics/catalog';
import { startRun, type SolverChild } from '../int/solver/support';
import { killDuringLoad, type KillResult } from './fuzz-kills';
import { settle } from './fuzz-settle';
import { readOutputs, type ServiceOutputs } from './fuzz-outputs';
import { replayGuardian } from '../../services/guardian/replay';
import { replaySchedules } from '../../services/impedance/schedule-log';
import { replayCoordination } from '../../services/coordinator/coordination-log';
import { coordinationLine } from '../../services/coordinator/coordination-replay';
import { COORDINATOR_KNOBS } from '../../services/coordinator/config';
import { readKnobs } from '../../services/runtime/knobs';
import { replayLine } from '../../services/impedance/schedule-replay';
import { replaySummaries } from '../../services/impedance/summary-log';
import { summaryReplayLine } from '../../services/impedance/summary-replay';
import { SEED_POLICY } from '../../services/guardian/policy';
import { schemaValidator } from '../../services/runtime/validation';
import { TestKafka, waitFor } from './kafka';

/** The event types each service takes (its processor's `accepts`): others on its topics it passes over. */
const ACCEPTS: Readonly<Record<string, readonly string[]>> = {
  solver: SOLVER_INPUT_TYPES,
  verifier: VERIFIER_INPUT_TYPES,
  consensus: CONSENSUS_INPUT_TYPES,
  impedance: IMPEDANCE_INPUT_TYPES,
  coordinator: [...CONFLICT_PROCESSOR_TYPES, ...DISPATCH_INPUT_TYPES, ...GATHER_INPUT_TYPES],
  guardian: GUARDIAN_INPUT_TYPES,
};

/** The input topics of each processor service (their processors' `inputs`). */
export const SERVICE_INPUTS: Readonly<Record<string, readonly string[]>> = {
  solver: ['solver.sessions', 'solver.costs', 'solver.commands', 'solver.verifications'],
  verifier: ['solver.sessions', 'solver.costs', 'solver.solutions'],
  consensus: ['solver.verifications'],
  impedance: ['mesh.heartbeats', 'mesh.coordination', 'mesh.acks', 'mesh.agent-acks', 'mesh.circuits'],
  coordinator: ['mesh.acks', 'mesh.conflicts', 'mesh.schedules'],
  guardian: ['mesh.impedance', 'mesh.summaries', 'mesh.witnesses', 'mesh.guardian'],
};

/**
 * Every topic each service's group consumes: its fuzzed inputs, and mesh.cascades, which the
 * coordinator's cascades write and read back (not fuzzed). A run settles when each group has
 * consumed what the flood caused on all of them (fuzz-settle.ts).
 */
export const SERVICE_CONSUMES: Readonly<Record<string, readonly string[]>> = { ...SERVICE_INPUTS, coordinator: [...SERVICE_INPUTS.coordinator!, 'mesh.cascades'] };

/** Dead-letter classes that say the record itself was malformed: never for a valid one. */
const MALFORMED = new Set(['DECODE_FAILED', 'UNKNOWN_SCHEMA_ID', 'UNKNOWN_EVENT_TYPE', 'VALIDATION_FAILED', 'OVERSIZED', 'MIS_KEYED', 'EVENT_TIME_SKEW']);

type Kind = 'valid' | 'hostile' | 'raw';
export interface Fuzzed {
  readonly topic: string; readonly kind: Kind; readonly key: string | null; readonly value: Buffer;
  /**
   * The record's timestamp (ms), fixed when it was generated and sent with it by every run: the
   * runner measures an event time against it, so a record re-sent minutes later with the time of
   * its sending (a soak's control and kill runs) could pass the bound its verdict says it fails.
   */
  readonly timestampMs: number;
  /** Why the runner refuses it, and how many services reading the topic will (those taking its type; all when it does not decode). */
  readonly invalid: string | undefined; readonly refusers: number;
  /** The event id it was made with (valid and hostile records): what the services' outputs name as their cause. */
  readonly eventId?: string;
  partition?: number; offset?: number;
}
const readers = (topic: string) => Object.keys(SERVICE_INPUTS).filter((s) => SERVICE_INPUTS[s]!.includes(topic));
const takers = (topic: string, type: string) => readers(topic).filter((s) => ACCEPTS[s]!.includes(type));

const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;

/** Values at and past the limits the schemas declare, by the JS type of the value they replace. */
function hostileValue(rng: Rng, v: unknown): unknown {
  const L = DEFAULT_LIMITS;
  if (typeof v === 'number') return pick(rng, [NaN, Infinity, -Infinity, 1e308, -1e308, -1, 0, -0, Number.MIN_VALUE, 2 ** 31 - 1, -(2 ** 31), 2 ** 53 - 1, L.maxDimension + 1, L.maxCapabilities + 1]);
  if (typeof v === 'string') return pick(rng, ['', 'x'.repeat(L.maxStringLength), 'x'.repeat(L.maxStringLength + 1), 'a|b', 'a,b', 'a:b', 'a*?', ' ', '\u0000', 'é\u{1F600}']);
  if (Buffer.isBuffer(v)) return pick(rng, [Buffer.alloc(0), Buffer.alloc(7, 0xff), Buffer.from(new Float64Array([NaN, Infinity]).buffer), Buffer.alloc(L.maxBytesLength + 8)]);
  if (Array.isArray(v)) {
    const item = v[0] ?? 0;
    return pick(rng, [[], Array.from({ length: L.maxCapabilities + 1 }, () => item), Array.from({ length: L.maxArrayItems + 1 }, () => item)]);
  }
  return v;
}

/** Leaves of an event (path to a value that is not a plain object), meta.event_id left alone. */
function leaves(o: unknown, path: string[] = [], out: string[][] = []): string[][] {
  if (o === null || typeof o !== 'object' || Buffer.isBuffer(o) || Array.isArray(o)) { if (path.length > 0) out.push(path); return out; }
  for (const [k, v] of Object.entries(o)) if (k !== 'type' && !(path[0] === 'meta' && k === 'event_id')) leaves(v, [...path, k], out);
  return out;
}

function setPath(o: Record<string, unknown>, path: readonly string[], v: unknown): void {
  let x = o;
  for (const k of path.slice(0, -1)) x = x[k] as Record<string, unknown>;
  x[path.at(-1)!] = v;
}

// The test's own decoder asks the registry about every id: the service's miss budget
// (unknown-schema-ids.ts) would otherwise make it call valid records undecodable after a few made-up ids.
const judges = new WeakMap<TestKafka, EventCodec>();
const judge = (k: TestKafka): EventCodec => {
  let c = judges.get(k);
  if (!c) { c = new EventCodec(process.env.SCHEMA_REGISTRY_URL!, undefined, { unknownIds: { ...DEFAULT_UNKNOWN_ID_POLICY, graceMs: 0, missBurst: 1e9, missesPerSecond: 1e9 } }); judges.set(k, c); }
  return c;
};

/** The services' event-time bound (the runtime's, from the environment the children inherit). */
const serviceEventTime = () => eventTimeBound(readServiceConfig(SERVICES.impedance!, process.env));

/** Why the runner refuses `value` on `topic` stamped `timestampMs` (decode, validation, key, event time), or undefined; and how many of the topic's services do. */
export async function refusal(k: TestKafka, topic: string, key: string | null, value: Buffer, timestampMs: number): Promise<{ invalid: string | undefined; refusers: number }> {
  let event: SolvermeshEvent;
  try { event = (await judge(k).decode(value)).event; } catch (err) { return { invalid: `undecodable: ${(err as Error).message}`, refusers: readers(topic).length }; }
  const refusers = takers(topic, event.type).length;
  const why = (): string | undefined => {
    const issues = validateEvent(event);
    if (issues.length > 0) return `invalid: ${issues[0]!.message}`;
    const mis = misKeyed(keyOfTopic(topic), key === null ? null : Buffer.from(key), event);
    if (mis) return mis;
    const skew = eventTimeSkew(event, timestampMs, serviceEventTime());
    return skew === undefined ? undefined : `event time: ${skew}`;
  };
  return { invalid: refusers === 0 ? undefined : why(), refusers };
}

async function fuzzTopic(k: TestKafka, topic: string, n: number, rng: Rng): Promise<Fuzzed[]> {
  const spec = TOPICS.find((t) => t.name === topic)!;
  // Types some reader of the topic takes: the others are passed over unread.
  const types = (spec.events as readonly EventType[]).filter((t) => takers(topic, t).length > 0);
  const keyOf = keyOfTopic(topic);
  const out: Fuzzed[] = [];
  const physical = k.topic(topic);
  const timestampMs = Date.now();
  const nowUs = timestampMs * 1000;
  const validOne = (): { event: SolvermeshEvent; key: string } => {
    const event = arbitraryEvent(pick(rng, types), rng) as SolvermeshEvent;
    // Near the run's own time: the skew bound is part of what is fuzzed, not an accident of the generator.
    event.meta.occurred_at = nowUs - int(rng, 0, 60_000_000);
    return { event, key: keyOf?.(event) ?? `k${int(rng, 0, 99)}` };
  };
  while (out.length < n) {
    const roll = rng();
    const { event, key } = validOne();
    if (roll < 0.4) {
      out.push({ topic, kind: 'valid', key, value: await k.codec.encode(physical, event), timestampMs, invalid: undefined, refusers: 0, eventId: event.meta.event_id });
      continue;
    }
    if (roll < 0.75) {
      let rekey = key;
      const how = rng();
      if (how < 0.1) rekey = `${key}-other`;
      else if (how < 0.2) event.meta.occurred_at = nowUs + 3 * 365 * 86_400_000_000;
      else {
        const path = pick(rng, leaves(event));
        let v: unknown = event as unknown;
        for (const p of path) v = (v as Record<string, unknown>)[p];
        setPath(event as unknown as Record<string, unknown>, path, hostileValue(rng, v));
      }
      let value: Buffer;
      try { value = await k.codec.encode(physical, event); } catch { continue; } // Avro itself cannot carry it (an int of 2^53)
      out.push({ topic, kind: 'hostile', key: rekey, value, timestampMs, eventId: event.meta.event_id, ...(await refusal(k, topic, rekey, value, timestampMs)) });
      continue;
    }
    const good = await k.codec.encode(physical, event);
    const how = rng();
    let value: Buffer;
    if (how < 0.3) value = Buffer.from(Array.from({ length: int(rng, 0, 64) }, () => int(rng, 0, 255)));
    else if (how < 0.55) value = good.subarray(0, int(rng, 0, good.length - 1));
    else if (how < 0.8) { value = Buffer.from(good); for (let i = 0; i < 3; i++) { const at = int(rng, 5, value.length - 1); value[at] = int(rng, 0, 255); } }
    else { value = Buffer.from(good); value.writeUInt32BE(int(rng, 1_000_000, 2_000_000_000), 1); }
    out.push({ topic, kind: 'raw', key, value, timestampMs, ...(await refusal(k, topic, key, value, timestampMs)) });
  }
  return out;
}

export interface TopicResult {
  readonly topic: string;
  readonly services: readonly string[];
  readonly records: number;
  readonly valid: number;
  readonly invalid: number;
  /** Invalid records with a dead letter with a reason, from every service that reads the topic. */
  readonly invalidDeadLettered: number;
  /** Valid records dead-lettered as malformed (must be 0). */
  readonly validLost: number;
  /** Valid records a service refused for a domain reason (REJECTED, AMPLIFICATION...): counted, not lost. */
  readonly validRefused: number;
  /** Dead letters without a reason header (must be 0). */
  readonly withoutReason: number;
}

export interface FuzzResult {
  readonly seed: number;
  readonly topics: readonly TopicResult[];
  /** Services that exited during the run, other than by a planned kill (must be none). */
  readonly crashed: readonly string[];
  /** Peak RSS (VmHWM, kB) per service process at the end (of the restarted process after a kill). */
  readonly rss: Readonly<Record<string, { peakKb: number }>>;
  readonly failures: readonly string[];
  /** The records fuzzed, in the order sent: another run given them gets the same bytes. */
  readonly records: readonly Fuzzed[];
  /** Each planned kill -9, and how the service came back. */
  readonly kills: readonly KillResult[];
  /** What the services wrote (when asked), canonical per topic partition: see fuzz-outputs.ts. */
  readonly outputs: ServiceOutputs | undefined;
  /** Ms from the services' start to every group past every fuzzed record. */
  readonly drainMs: number;
  /**
   * When outputs were asked for: ms from the services' start to every group past every record the
   * flood caused on its inputs (fuzz-settle.ts), and how many records it caused.
   */
  readonly settled: { readonly ms: number; readonly caused: number; readonly rounds: number } | undefined;
  /** Ms from the services' start to each one's group past every fuzzed record of its inputs (polled every 20 ms). */
  readonly serviceDrainMs: Readonly<Record<string, number>>;
  /** The guardian's outputs against a replay of its own sequenced log (ticks included), when outputs were asked for. */
  readonly guardianReplay: GuardianReplayResult | undefined;
  /** The impedance's send schedules against a replay of the run's log at the positions they name, when outputs were asked for. */
  readonly scheduleReplay: GuardianReplayResult | undefined;
  /** The coordinator's dispatch and quorum decisions against a refold of its own input partitions, when outputs were asked for. */
  readonly coordinationReplay: GuardianReplayResult | undefined;
  /** The impedance's summaries against a replay of the run's log at the registry positions they name, when outputs were asked for. */
  readonly summaryReplay: GuardianReplayResult | undefined;
}

/** services/guardian/replay.ts over the run's log: ok, or the first divergence (or why it could not run). */
export interface GuardianReplayResult { readonly ok: boolean; readonly identical: number; readonly recorded: number; readonly recomputed: number; readonly line: string }

/** VmHWM (peak resident set) of a process, kB; the CLI wrapper execs node, so the child's pid is node's. */
export function peakRssKb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

export interface FuzzOptions {
  readonly perTopic: number; readonly seed: number; readonly label?: string; readonly timeoutMs?: number; readonly log?: (msg: string) => void;
  /** Records of an earlier run (its `records`): the same bytes, so the two runs' outputs compare. */
  readonly records?: readonly Fuzzed[];
  /** Services to kill -9 while they work through the flood (each restarted at once under its INSTANCE_ID). */
  readonly kill?: readonly string[];
  /** Kills per service (default 1). */
  readonly killsPerService?: number;
  /** Each service's time to drain the same flood in an uninterrupted run (its `serviceDrainMs`): kills fall inside it. */
  readonly killWithin?: Readonly<Record<string, number>>;
  /** Read back what the services wrote. */
  readonly outputs?: boolean;
}

/** Every input topic's seeded records, encoded with `k`'s codec (schema ids are global: another run's topics decode them). */
export async function generateFuzz(k: TestKafka, perTopic: number, seed: number): Promise<Fuzzed[]> {
  const rng = seededRng(seed);
  const all: Fuzzed[] = [];
  for (const t of FUZZED_TOPICS) all.push(...(await fuzzTopic(k, t, perTopic, rng)));
  return all;
}

const FUZZED_TOPICS = [...new Set(Object.values(SERVICE_INPUTS).flat())].sort();

/** The service group's consumer group id on `k`'s topics. */
export function groupOf(k: TestKafka, name: string, env: NodeJS.ProcessEnv): string {
  const def = SERVICES[name]!;
  const config = readServiceConfig(def, { ...process.env, TOPIC_PREFIX: k.prefix, ...env });
  return def.groupId?.(config) ?? `${k.prefix}solvermesh.${name}`;
}

/**
 * Puts the flood on the log, starts the six services on it, optionally kills some mid-flood,
 * waits for every group past every record, and checks every record. The whole flood is sent
 * before any service starts, so on every partition the services' own records come after it:
 * two runs given the same records hold them at the same offsets, and their outputs compare.
 */
export async function runFuzz(o: FuzzOptions): Promise<FuzzResult> {
  const log = o.log ?? (() => undefined);
  const k = await TestKafka.create(o.label ?? 'fuzz');
  const children = new Map<string, SolverChild>();
  let progress: GroupProgress | undefined;
  // The impedance takes up to 20,000 records a transaction by default: the whole flood in one, so a
  // kill could only fall before or after it; at 500 it commits several times, as the others do.
  const envOf = (name: string) => ({ SCHEMA_ID_GRACE_MS: '1000', LOG_LEVEL: 'error', INSTANCE_ID: `${o.label ?? 'fuzz'}-${name}`, IMPEDANCE_MAX_BATCH_RECORDS: '500' });
  try {
    log(`fuzz: topics under ${k.prefix}`);
    const all: Fuzzed[] = o.records ? o.records.map((f) => ({ ...f })) : await generateFuzz(k, o.perTopic, o.seed);
    log(`fuzz: ${all.length} records ready; sending`);
    await sendFuzz(k, all);
    log(`fuzz: ${all.length} records on ${FUZZED_TOPICS.length} topics (seed ${o.seed}) on the log; starting the services`);
    const start = (name: string) => children.set(name, startRun(k, [name], envOf(name)));
    const t0 = Date.now();
    for (const name of Object.keys(SERVICE_INPUTS)) start(name);
    const groups = Object.fromEntries(Object.keys(SERVICE_INPUTS).map((name) => [name, groupOf(k, name, envOf(name))]));
    // Where each service must commit past: the last fuzzed offset of each partition of its inputs.
    const need = new Map<string, number>();
    for (const f of all) { const id = `${k.topic(f.topic)}/${f.partition}`; need.set(id, Math.max(need.get(id) ?? -1, f.offset!)); }
    const p = groupProgress(k, groups, need);
    progress = p;
    const kills = o.kill && o.kill.length > 0
      ? killDuringLoad({ services: o.kill, times: o.killsPerService ?? 1, seed: o.seed, progress: p, log, startedAt: t0, ...(o.killWithin ? { within: o.killWithin } : {}),
        child: (n) => children.get(n)!,
        kill: async (n) => { const c = children.get(n)!; c.proc.kill('SIGKILL'); await c.exited; },
        restart: (n) => { start(n); } })
      : Promise.resolve([] as KillResult[]);
    // Awaited after the drain; until then a failure must not go unhandled.
    kills.catch(() => undefined);
    const serviceDrainMs: Record<string, number> = {};
    const allCaughtUp = async () => (await Promise.all(Object.keys(SERVICE_INPUTS).map(async (n) => {
      const up = await p.caughtUp(n);
      if (up) serviceDrainMs[n] ??= Date.now() - t0;
      return up;
    }))).every(Boolean);
    await waitFor(allCaughtUp, o.timeoutMs ?? 120_000, 'every service to commit past every fuzzed record').catch(async (err: Error) => { throw new Error(`${err.message}\n${await behind(p, children)}`); });
    const killResults = await kills;
    // The kills may have restarted a service after the others drained: all caught up again.
    await waitFor(allCaughtUp, o.timeoutMs ?? 120_000, 'every service to commit past every fuzzed record after the kills').catch(async (err: Error) => { throw new Error(`${err.message}\n${await behind(p, children)}`); });
    const drainMs = Date.now() - t0;
    // What the services wrote after the flood is read by the others (and by a restarted service)
    // after their last fuzzed record: the outputs are read once all of it is consumed.
    const settled = !o.outputs ? undefined
      : await settle({
        k, codec: judge(k), consumes: SERVICE_CONSUMES, committed: p.committed, timeoutMs: o.timeoutMs ?? 120_000,
        roots: new Set(all.flatMap((f) => (f.eventId ? [f.eventId] : []))), fuzzed: new Set(all.map((f) => `${k.topic(f.topic)}/${f.partition}/${f.offset}`)),
      }).then((x) => { log(`fuzz: the flood's ${x.caused} effects consumed by every service ${((x.doneAt - t0) / 1000).toFixed(1)} s after the start (settled after ${x.rounds} rounds)`); return { ms: x.doneAt - t0, caused: x.caused, rounds: x.rounds }; },
        async (err: Error) => { throw new Error(`${err.message}\n${await behind(p, children)}`); });
    const crashed = [...children].filter(([, c]) => c.proc.exitCode !== null || c.proc.signalCode !== null).map(([n]) => n);
    const rss = Object.fromEntries([...children].map(([n, c]) => [n, { peakKb: c.proc.exitCode === null ? peakRssKb(c.proc.pid!) : NaN }]));
    const failures: string[] = [];
    const results: TopicResult[] = [];
    for (const t of FUZZED_TOPICS) {
      const services = Object.keys(SERVICE_INPUTS).filter((s) => SERVICE_INPUTS[s]!.includes(t));
      const dead = await readLog(k.brokers, k.codec, [{ topic: k.topic(dlqName(t)), partition: 0, from: 0 }], { decode: false });
      const byRecord = new Map<string, Array<Readonly<Record<string, string>>>>();
      for (const d of dead) {
        const id = `${d.headers[DLQ_HEADERS.sourcePartition]}/${d.headers[DLQ_HEADERS.sourceOffset]}`;
        byRecord.set(id, [...(byRecord.get(id) ?? []), d.headers]);
      }
      const mine = all.filter((f) => f.topic === t);
      let invalidDeadLettered = 0;
      let validLost = 0;
      let validRefused = 0;
      const withoutReason = dead.filter((d) => !d.headers[DLQ_HEADERS.errorClass] || !d.headers[DLQ_HEADERS.errorMessage]).length;
      for (const f of mine) {
        const letters = byRecord.get(`${f.partition}/${f.offset}`) ?? [];
        if (f.invalid !== undefined) {
          if (letters.length >= f.refusers && letters.every((h) => h[DLQ_HEADERS.errorMessage])) invalidDeadLettered++;
          else failures.push(`${t} ${f.partition}/${f.offset} (${f.kind}: ${f.invalid.slice(0, 120)}): ${letters.length} dead letters, expected one from each of ${f.refusers} services taking it`);
        } else if (letters.some((h) => MALFORMED.has(h[DLQ_HEADERS.errorClass] ?? ''))) {
          validLost++;
          failures.push(`${t} ${f.partition}/${f.offset} valid but dead-lettered: ${letters.map((h) => `${h[DLQ_HEADERS.errorClass]} ${h[DLQ_HEADERS.errorMessage]?.slice(0, 160)}`).join(' | ')}`);
        } else if (letters.length > 0) validRefused++;
      }
      if (withoutReason > 0) failures.push(`${t}: ${withoutReason} dead letters without a reason`);
      const invalid = mine.filter((f) => f.invalid !== undefined).length;
      results.push({ topic: t, services, records: mine.length, valid: mine.length - invalid, invalid, invalidDeadLettered, validLost, validRefused, withoutReason });
    }
    for (const n of crashed) failures.push(`${n} exited: ${children.get(n)!.output().slice(-2000)}`);
    for (const f of failures.slice(0, 5)) log(`mishandled: ${f}`);
    const outputs = o.outputs ? await readOutputs(k, all) : undefined;
    // Stopped first: its ticks would go on committing while the replay reads its outputs.
    const guardian = children.get('guardian')!;
    if (o.outputs && guardian.proc.exitCode === null) { guardian.proc.kill('SIGTERM'); await Promise.race([guardian.exited, new Promise((r) => setTimeout(r, 10_000))]); }
    const guardianReplay = o.outputs ? await replayOwnLog(k, groups.guardian!, envOf('guardian')) : undefined;
    const scheduleReplay = o.outputs ? await replayOwnSchedules(k, groups.impedance!, envOf('impedance')) : undefined;
    const coordinationReplay = o.outputs ? await replayOwnCoordination(k, groups.coordinator!, envOf('coordinator')) : undefined;
    const summaryReplay = o.outputs ? await replayOwnSummaries(k, envOf('impedance')) : undefined;
    return { seed: o.seed, topics: results, crashed, rss, failures, records: all, kills: killResults, outputs, drainMs, settled, serviceDrainMs, guardianReplay, scheduleReplay, coordinationReplay, summaryReplay };
  } finally {
    for (const c of children.values()) if (c.proc.exitCode === null) { c.proc.kill('SIGTERM'); await Promise.race([c.exited, new Promise((r) => setTimeout(r, 10_000))]); if (c.proc.exitCode === null) c.proc.kill('SIGKILL'); }
    await k.close();
  }
}

/**
 * The guardian decides at ticks it writes onto its own input (mesh.guardian) at wall-clock moments,
 * so two runs differ in when breakers open; what must hold is that its outputs are exactly a replay
 * of its own log, ticks included (the same tool as `solvermesh mesh replay`).
 */
async function replayOwnLog(k: TestKafka, groupId: string, env: NodeJS.ProcessEnv): Promise<GuardianReplayResult> {
  try {
    const config = readServiceConfig(SERVICES.guardian!, { ...process.env, TOPIC_PREFIX: k.prefix, ...env });
    // The test's codec (no grace, no miss budget): the made-up schema ids the fuzz put on
    // mesh.guardian are unknown at once and passed over, as the service dead-lettered them.
    const r = await replayGuardian({ brokers: k.brokers, codec: judge(k), topicPrefix: k.prefix, policy: SEED_POLICY, validate: withEventTimeBound(schemaValidator(), eventTimeBound(config)), groupId });
    const d = r.divergence;
    const line = r.ok ? `${r.identical} identical byte for byte (${r.inputs} inputs through offset ${r.through})`
      : `DIVERGED at ${d!.type} ${d!.eventId}: ${d!.kind} (${r.identical} identical before it); recorded ${JSON.stringify(d!.recorded ?? null).slice(0, 300)}; recomputed ${JSON.stringify(d!.recomputed ?? null).slice(0, 300)}`;
    return { ok: r.ok, identical: r.identical, recorded: r.recorded, recomputed: r.recomputed, line };
  } catch (err) {
    return { ok: false, identical: 0, recorded: 0, recomputed: 0, line: `replay failed: ${(err as Error).message}` };
  }
}

/**
 * The schedules read the registry and the breakers in Redis as they were when each request was
 * read, so two runs differ; what must hold is that each equals a recomputation from the run's own
 * log at the positions it names (the same tool as `solvermesh mesh replay-schedules`).
 */
async function replayOwnSchedules(k: TestKafka, groupId: string, env: NodeJS.ProcessEnv): Promise<GuardianReplayResult> {
  try {
    const config = readServiceConfig(SERVICES.impedance!, { ...process.env, TOPIC_PREFIX: k.prefix, ...env });
    const r = await replaySchedules({ brokers: k.brokers, codec: judge(k), topicPrefix: k.prefix, validate: withEventTimeBound(schemaValidator(), eventTimeBound(config)), groupId });
    const line = replayLine(r).slice(0, 1200);
    return { ok: r.ok, identical: r.identical, recorded: r.recorded, recomputed: r.recomputed, line };
  } catch (err) {
    return { ok: false, identical: 0, recorded: 0, recomputed: 0, line: `replay failed: ${(err as Error).message}` };
  }
}

/**
 * The impedance summarises the whole registry at ticks reached at wall-clock moments, so two runs
 * differ in which positions each summary read; what must hold is that each equals a refold of the
 * run's own log to the positions it names (the same tool as `solvermesh mesh replay-summaries`).
 */
async function replayOwnSummaries(k: TestKafka, env: NodeJS.ProcessEnv): Promise<GuardianReplayResult> {
  try {
    const config = readServiceConfig(SERVICES.impedance!, { ...process.env, TOPIC_PREFIX: k.prefix, ...env });
    const r = await replaySummaries({ brokers: k.brokers, codec: judge(k), topicPrefix: k.prefix, validate: withEventTimeBound(schemaValidator(), eventTimeBound(config)) });
    return { ok: r.ok, identical: r.identical, recorded: r.recorded, recomputed: r.recomputed, line: summaryReplayLine(r).slice(0, 1200) };
  } catch (err) {
    return { ok: false, identical: 0, recorded: 0, recomputed: 0, line: `replay failed: ${(err as Error).message}` };
  }
}

/**
 * The coordinator dispatches and decides at ticks it writes onto its own input partitions, so two
 * runs differ; what must hold is that its outputs equal a refold of those partitions (the same
 * tool as `solvermesh mesh replay-coordination`).
 */
async function replayOwnCoordination(k: TestKafka, groupId: string, env: NodeJS.ProcessEnv): Promise<GuardianReplayResult> {
  try {
    const config = readServiceConfig(SERVICES.coordinator!, { ...process.env, TOPIC_PREFIX: k.prefix, ...env });
    const r = await replayCoordination({
      brokers: k.brokers, codec: judge(k), topicPrefix: k.prefix, validate: withEventTimeBound(schemaValidator(), eventTimeBound(config)), groupId,
      retentionMs: readKnobs(COORDINATOR_KNOBS, { ...process.env, ...env }).coordinatorGatherRetentionMs, signaturesVerified: config.meshSigning === 'required',
    });
    return { ok: r.ok, identical: r.identical, recorded: r.recorded, recomputed: r.recomputed, line: coordinationLine(r).slice(0, 1200) };
  } catch (err) {
    return { ok: false, identical: 0, recorded: 0, recomputed: 0, line: `replay failed: ${(err as Error).message}` };
  }
}

/** Which services are behind, on which partitions (committed / last fuzzed offset), and the end of their output. */
async function behind(progress: GroupProgress, children: ReadonlyMap<string, SolverChild>): Promise<string> {
  const out: string[] = [];
  for (const name of Object.keys(SERVICE_INPUTS)) {
    const got = await progress.committed(name);
    const late = [...progress.needOf(name)].filter(([id, last]) => (got.get(id) ?? -1) <= last).map(([id, last]) => `${id} at ${got.get(id) ?? -1} of ${last + 1}`);
    if (late.length > 0) out.push(`${name} behind on ${late.join(', ')}; its output ends:\n${children.get(name)?.output().slice(-3000) ?? ''}`);
  }
  return out.join('\n');
}

/** Peak RSS (VmHWM, kB) of each service started on empty topics and left `forMs` without input: the no-flood baseline. */
export async function idleRss(label: string, forMs: number): Promise<Record<string, number>> {
  const k = await TestKafka.create(label);
  const children = new Map(Object.keys(SERVICE_INPUTS).map((n) => [n, startRun(k, [n], { LOG_LEVEL: 'error', INSTANCE_ID: `${label}-${n}` })]));
  try {
    // Joined and restored: each group has a committed-offset answer and the process has run its start-up.
    await new Promise((r) => setTimeout(r, forMs));
    return Object.fromEntries([...children].map(([n, c]) => [n, c.proc.exitCode === null ? peakRssKb(c.proc.pid!) : NaN]));
  } finally {
    for (const c of children.values()) if (c.proc.exitCode === null) { c.proc.kill('SIGTERM'); await Promise.race([c.exited, new Promise((r) => setTimeout(r, 10_000))]); if (c.proc.exitCode === null) c.proc.kill('SIGKILL'); }
    await k.close();
  }
}

/** Whether a service's group is past every fuzzed record of its inputs, and its committed positions. */
export interface GroupProgress {
  /** On every partition the service consumes (SERVICE_CONSUMES), by `topic/partition` (prefixed). */
  readonly committed: (service: string) => Promise<Map<string, number>>;
  /** The last record at or after `committed` on each partition the service consumes that has one, and how many there are. */
  readonly unread: (service: string, committed: ReadonlyMap<string, number>) => Promise<Map<string, { last: number; count: number }>>;
  readonly caughtUp: (service: string) => Promise<boolean>;
  /** The partitions of the service's inputs that hold fuzzed records, and the last fuzzed offset of each. */
  readonly needOf: (service: string) => ReadonlyMap<string, number>;
  readonly close: () => Promise<void>;
}

/**
 * Committed offsets through one admin connection: a poll takes milliseconds, so a kill can land
 * inside a flood that a fast service works through in a second. A failed poll (a broker timeout
 * on the loaded machine) is asked again.
 */
function groupProgress(k: TestKafka, groups: Readonly<Record<string, string>>, need: ReadonlyMap<string, number>): GroupProgress {
  const needOf = (name: string) => new Map([...need].filter(([id]) => SERVICE_INPUTS[name]!.some((t) => id.startsWith(`${k.topic(t)}/`))));
  const admin = k.kafka.admin();
  const connected = admin.connect();
  const consumed = (name: string) => SERVICE_CONSUMES[name]!.map((t) => k.topic(t));
  const committed = async (name: string) => {
    await connected;
    const topics = consumed(name);
    for (let attempt = 1; ; attempt++) {
      try {
        const got = await admin.fetchOffsets({ groupId: groups[name]!, topics });
        return new Map(got.flatMap((t) => t.partitions.map((p) => [`${t.topic}/${p.partition}`, Number(p.offset)] as [string, number])));
      } catch (err) {
        if (attempt >= 10) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  const caughtUp = async (name: string) => {
    const got = await committed(name);
    return [...needOf(name)].every(([id, last]) => (got.get(id) ?? -1) > last);
  };
  const unread = async (name: string, at: ReadonlyMap<string, number>) => {
    const tps = consumed(name).flatMap((topic) => Array.from({ length: partitionsOf(topic.slice(k.prefix.length)) }, (_, partition) => ({ topic, partition })));
    const ends = await partitionEnds(k.brokers, tps);
    const ranges = tps.map((t) => ({ ...t, from: Math.max(0, at.get(`${t.topic}/${t.partition}`) ?? 0), to: ends.get(`${t.topic}/${t.partition}`)! })).filter((r) => r.to > r.from);
    const out = new Map<string, { last: number; count: number }>();
    for (const r of ranges.length === 0 ? [] : await readLog(k.brokers, k.codec, ranges, { decode: false })) {
      const id = `${r.topic}/${r.partition}`;
      out.set(id, { last: Math.max(out.get(id)?.last ?? -1, r.offset), count: (out.get(id)?.count ?? 0) + 1 });
    }
    return out;
  };
  return { committed, caughtUp, unread, needOf, close: async () => { await connected.catch(() => undefined); await admin.disconnect(); } };
}

/** Sends `records` to `topic` and returns where each landed. */
/** Puts the records on `k`'s topics, topic by topic in order, each with its own timestamp, and notes where each landed. */
export async function sendFuzz(k: TestKafka, records: Fuzzed[]): Promise<void> {
  for (const t of FUZZED_TOPICS) {
    const mine = records.filter((f) => f.topic === t);
    for (let i = 0; i < mine.length; i += 100) {
      const part = mine.slice(i, i + 100);
      const meta = await sendWithOffsets(k, t, part);
      part.forEach((f, j) => { f.partition = meta[j]!.partition; f.offset = meta[j]!.offset; });
    }
  }
}

async function sendWithOffsets(k: TestKafka, topic: string, records: readonly Fuzzed[]): Promise<Array<{ partition: number; offset: number }>> {
  const producer = k.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const out: Array<{ partition: number; offset: number }> = [];
    // One send: each partition's base offset, its records after it in order (the default partitioner, as partitionOf).
    const meta = await producer.send({ topic: k.topic(topic), acks: -1, messages: records.map((r) => ({ key: r.key, value: r.value, timestamp: String(r.timestampMs) })) });
    const next = new Map(meta.map((m) => [m.partition, Number(m.baseOffset)]));
    for (const r of records) {
      const p = partitionOf(r.key!, partitionsOf(topic));
      const o = next.get(p)!;
      next.set(p, o + 1);
      out.push({ partition: p, offset: o });
    }
    return out;
  } finally {
    await producer.disconnect();
  }
}

const partitionsOf = (topic: string) => TOPICS.find((t) => t.name === topic)!.partitions;
