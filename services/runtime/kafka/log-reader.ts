// Plain reads of partition ranges, for restoring state (snapshots, changelogs, tails) and for
// replay: partitions assigned by hand (no group membership, nothing committed, nothing
// produced), read_committed like the runner, from an offset to an end offset or the partition's
// end. node-rdkafka, because it assigns without a group and reports the end of a partition.
import type * as Rd from 'node-rdkafka';
import type { SolvermeshEvent } from '../../../schemas/generated/events';
import type { EventCodec } from '../codec';
import { rdkafkaAuth } from '../credentials';
import { isRetriable, transient } from '../errors';
import { cb, rd } from './rdkafka-lib';

export interface LogRange {
  readonly topic: string;
  readonly partition: number;
  readonly from: number;
  /** Exclusive end; undefined reads to the partition's end as of now. */
  readonly to?: number;
}

export interface LogRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestampMs: number;
  readonly key: string | null;
  readonly value: Buffer | null;
  /** undefined when the bytes do not decode (the runner dead-lettered them). */
  readonly event: SolvermeshEvent | undefined;
  /** Record headers as strings (a dead letter's reason and source travel there). */
  readonly headers: Readonly<Record<string, string>>;
}

export interface ReadLogOptions {
  readonly timeoutMs?: number;
  /** false: leave `event` undefined and skip decoding (counting, raw copies). */
  readonly decode?: boolean;
  /** Called per record as it arrives, instead of collecting them (large restores). */
  readonly onRecord?: (r: LogRecord) => void | Promise<void>;
  /**
   * Follow: keep reading past the partitions' ends as records arrive, until this holds (checked
   * after each batch) or the timeout passes (an error). Ranges then have no `to`.
   */
  readonly until?: () => boolean;
}

/** Reads every range fully (or follows them: `until`); records in per-partition order, partitions interleaved as fetched. */
export async function readLog(brokers: readonly string[], codec: EventCodec, ranges: readonly LogRange[], opts: ReadLogOptions = {}): Promise<LogRecord[]> {
  if (opts.until && ranges.some((r) => r.to !== undefined)) throw new Error('readLog: a followed range has no end offset');
  let todo = ranges.filter((r) => r.to === undefined || r.to > r.from);
  const out: LogRecord[] = [];
  if (todo.length === 0) return out;
  const { KafkaConsumer } = rd();
  const consumer = new KafkaConsumer({
    'metadata.broker.list': brokers.join(','), ...rdkafkaAuth(),
    'group.id': `solvermesh-reader-${process.pid}-${Date.now()}`,
    'enable.auto.commit': false,
    'isolation.level': 'read_committed',
    'enable.partition.eof': true,
    'fetch.max.bytes': 52_428_800,
    // The end of a partition is known only from an empty fetch, which the broker holds for
    // fetch.wait.max.ms (librdkafka's default 500 ms): each restore paid that per range.
    'fetch.wait.max.ms': 10,
  }, { 'auto.offset.reset': 'earliest' });
  const id = (t: string, p: number) => `${t}/${p}`;
  try {
    await connect(consumer, todo[0]!.topic, opts.timeoutMs ?? 30_000);
    // Ends first: a range with nothing in it is not fetched at all, and an open one stops at the
    // end it had when the read began instead of waiting for a poll to come back empty.
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    if (!opts.until) todo = (await Promise.all(todo.map((r) => withEnd(consumer, r, deadline)))).filter((r) => r.to! > r.from);
    if (todo.length === 0) return out;
    const ranges = new Map(todo.map((r) => [id(r.topic, r.partition), r]));
    const pending = new Set(ranges.keys());
    // node-rdkafka reports a partition's end before handing over the batch that reached it, so
    // ends are applied after that batch, never to it.
    const ended: string[] = [];
    consumer.on('partition.eof', (e) => ended.push(id(e.topic, e.partition)));
    consumer.assign(todo.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.from })));
    // consume(n) returns after n records or once a wait for the next one times out.
    consumer.setDefaultConsumeTimeout(50);
    const more = () => (opts.until ? !opts.until() : pending.size > 0);
    while (more()) {
      if (Date.now() > deadline) throw new Error(opts.until ? `${[...ranges.keys()].join(', ')}: what was awaited did not come within ${opts.timeoutMs ?? 120_000} ms` : `${[...pending].join(', ')} did not reach their end`);
      const messages = await cb<Rd.Message[]>((d) => consumer.consume(2000, (err, m) => d(err, m)));
      for (const m of messages ?? []) {
        const key = id(m.topic, m.partition);
        const r = ranges.get(key);
        if (!r || (!pending.has(key) && !opts.until)) continue;
        if (r.to !== undefined && m.offset >= r.to) { pending.delete(key); continue; }
        let event: SolvermeshEvent | undefined;
        if (opts.decode !== false) {
          try { event = (await codec.decode(m.value)).event; } catch (err) { if (isRetriable(err)) throw err; }
        }
        const record: LogRecord = {
          topic: m.topic, partition: m.partition, offset: m.offset, timestampMs: m.timestamp ?? 0,
          key: m.key ? m.key.toString() : null, value: m.value, event, headers: headersOf(m.headers),
        };
        if (opts.onRecord) await opts.onRecord(record); else out.push(record);
        // Offsets of transaction markers are never delivered: the end event closes those ranges.
        if (r.to !== undefined && m.offset >= r.to - 1) pending.delete(key);
      }
      for (const key of ended.splice(0)) pending.delete(key);
    }
    return out;
  } catch (err) {
    if (isRetriable(err)) throw err;
    throw transient('KAFKA_UNAVAILABLE', `reading ${todo.map((r) => `${r.topic}[${r.partition}]`).join(', ')} failed: ${(err as Error).message}`, err);
  } finally {
    await cb((done) => consumer.disconnect((e) => done(e))).catch(() => undefined);
  }
}

function headersOf(list: Rd.MessageHeader[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of list ?? []) for (const [k, v] of Object.entries(h)) out[k] = Buffer.isBuffer(v) ? v.toString() : String(v);
  return out;
}

/**
 * Connects with the metadata of one topic: node-rdkafka's default fetches every topic's, which
 * on a broker with thousands of partitions costs more than a small read.
 */
function connect(client: Rd.KafkaConsumer, topic: string, timeoutMs: number): Promise<void> {
  return cb((done) => client.connect({ topic, allTopics: false, timeout: timeoutMs }, (err) => done(err)));
}

/**
 * The range with its end made explicit: an open range ends at the last stable offset
 * (read_committed) now; a start below the log's start moves up to it. Asked again until
 * `deadline`: a topic created a moment ago answers "not leader" until its leaders are known.
 */
async function withEnd(client: Rd.KafkaConsumer, r: LogRange, deadline: number): Promise<LogRange> {
  if (r.to !== undefined) return r;
  for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
    try {
      const wm = await cb<Rd.WatermarkOffsets>((done) => client.queryWatermarkOffsets(r.topic, r.partition, 10_000, (err, v) => done(err, v)));
      return { ...r, from: Math.max(r.from, wm.lowOffset), to: wm.highOffset };
    } catch (err) {
      if (Date.now() + wait > deadline) throw err;
      await new Promise((res) => setTimeout(res, wait));
    }
  }
}

/** The group's committed offsets (next offset to consume; -1 where none). */
export async function committedOffsets(brokers: readonly string[], groupId: string, tps: ReadonlyArray<{ topic: string; partition: number }>): Promise<Map<string, number>> {
  if (tps.length === 0) return new Map();
  const { KafkaConsumer } = rd();
  const consumer = new KafkaConsumer({ 'metadata.broker.list': brokers.join(','), ...rdkafkaAuth(), 'group.id': groupId, 'enable.auto.commit': false }, {});
  try {
    await connect(consumer, tps[0]!.topic, 30_000);
    const got = await cb<Rd.TopicPartitionOffset[]>((done) => consumer.committed(tps.map((t) => ({ topic: t.topic, partition: t.partition })), 10_000, (err, v) => done(err, v)));
    return new Map(got.map((t) => [`${t.topic}/${t.partition}`, Number(t.offset ?? -1)]));
  } catch (err) {
    throw transient('KAFKA_UNAVAILABLE', `committed offsets of ${groupId} failed: ${(err as Error).message}`, err);
  } finally {
    await cb((done) => consumer.disconnect((e) => done(e))).catch(() => undefined);
  }
}

/** End offsets of a topic's partitions, asked again like withEnd while a new topic's leaders settle. */
export async function endOffsets(brokers: readonly string[], topic: string, partitions: number): Promise<number[]> {
  const { KafkaConsumer } = rd();
  const consumer = new KafkaConsumer({ 'metadata.broker.list': brokers.join(','), ...rdkafkaAuth(), 'group.id': `solver-wm-${process.pid}`, 'isolation.level': 'read_committed' }, {});
  try {
    const deadline = Date.now() + 30_000;
    await connect(consumer, topic, 30_000);
    const out: number[] = [];
    for (let p = 0; p < partitions; p++) out.push((await withEnd(consumer, { topic, partition: p, from: 0 }, deadline)).to!);
    return out;
  } catch (err) {
    if (isRetriable(err)) throw err;
    throw transient('KAFKA_UNAVAILABLE', `end offsets of ${topic} failed: ${(err as Error).message}`, err);
  } finally {
    await cb((done) => consumer.disconnect((e) => done(e))).catch(() => undefined);
  }
}

/** High watermarks of the given partitions, by `topic/partition`. */
export async function partitionEnds(brokers: readonly string[], tps: ReadonlyArray<{ topic: string; partition: number }>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (tps.length === 0) return out;
  const { KafkaConsumer } = rd();
  const consumer = new KafkaConsumer({ 'metadata.broker.list': brokers.join(','), ...rdkafkaAuth(), 'group.id': `solvermesh-wm-${process.pid}`, 'isolation.level': 'read_committed' }, {});
  try {
    const deadline = Date.now() + 30_000;
    await connect(consumer, tps[0]!.topic, 30_000);
    for (const t of tps) out.set(`${t.topic}/${t.partition}`, (await withEnd(consumer, { ...t, from: 0 }, deadline)).to!);
    return out;
  } catch (err) {
    if (isRetriable(err)) throw err;
    throw transient('KAFKA_UNAVAILABLE', `end offsets of ${tps.map((t) => `${t.topic}[${t.partition}]`).join(', ')} failed: ${(err as Error).message}`, err);
  } finally {
    await cb((done) => consumer.disconnect((e) => done(e))).catch(() => undefined);
  }
}
