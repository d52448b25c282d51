// Plain reads of solver topics for restore, replay and the sessions listing: partitions assigned
// by hand (no group, nothing committed, nothing produced), read_committed, from an offset to an
// end offset or to the partition's end. node-rdkafka: it assigns without a group and reports EOF.
import type * as Rd from 'node-rdkafka';
import type { DecodedEvent, EventCodec } from '../runtime/codec';
import { isRetriable, transient } from '../runtime/errors';

type RdModule = typeof Rd;
let rdModule: RdModule | undefined;
function rd(): RdModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  rdModule ??= require('node-rdkafka') as RdModule;
  return rdModule;
}

const cb = <T = void>(fn: (done: (err: unknown, v?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));

export interface LogRange {
  readonly topic: string;
  readonly partition: number;
  readonly from: number;
  /** Exclusive end; undefined reads to the partition's end. */
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
  readonly event: DecodedEvent | undefined;
}

/** Reads every range fully; records in per-partition order, partitions interleaved as fetched. */
export async function readLog(brokers: readonly string[], codec: EventCodec, ranges: readonly LogRange[], opts: { timeoutMs?: number; decode?: boolean } = {}): Promise<LogRecord[]> {
  const todo = ranges.filter((r) => r.to === undefined || r.to > r.from);
  const out: LogRecord[] = [];
  if (todo.length === 0) return out;
  const { KafkaConsumer } = rd();
  const consumer = new KafkaConsumer({
    'metadata.broker.list': brokers.join(','), 'group.id': `solver-read-${process.pid}-${Date.now()}`,
    'enable.auto.commit': false, 'isolation.level': 'read_committed', 'enable.partition.eof': true, 'fetch.max.bytes': 52_428_800,
  }, { 'auto.offset.reset': 'earliest' });
  try {
    await cb((done) => consumer.connect({ timeout: opts.timeoutMs ?? 30_000 }, (err) => done(err)));
    const id = (t: string, p: number) => `${t}/${p}`;
    const ranges = new Map(todo.map((r) => [id(r.topic, r.partition), r]));
    const pending = new Set(ranges.keys());
    // node-rdkafka can report a partition's end before it hands over the batch that reached
    // it: ends are applied after each batch is taken.
    const ended: string[] = [];
    consumer.on('partition.eof', (e) => ended.push(id(e.topic, e.partition)));
    consumer.assign(todo.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.from })));
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    while (pending.size > 0) {
      if (Date.now() > deadline) throw new Error(`${[...pending.keys()].join(', ')} did not reach their end`);
      const messages = await cb<Rd.Message[]>((d) => consumer.consume(2000, (err, m) => d(err, m)));
      for (const m of messages ?? []) {
        const r = ranges.get(id(m.topic, m.partition));
        if (!r || !pending.has(id(m.topic, m.partition))) continue;
        if (r.to !== undefined && m.offset >= r.to) { pending.delete(id(m.topic, m.partition)); continue; }
        let event: DecodedEvent | undefined;
        if (opts.decode !== false) {
          try { event = (await codec.decode(m.value)).event; } catch (err) { if (isRetriable(err)) throw err; }
        }
        out.push({ topic: m.topic, partition: m.partition, offset: m.offset, timestampMs: m.timestamp ?? 0, key: m.key ? m.key.toString() : null, value: m.value, event });
        if (r.to !== undefined && m.offset >= r.to - 1) pending.delete(id(m.topic, m.partition));
      }
      for (const e of ended.splice(0)) pending.delete(e);
    }
    return out;
  } catch (err) {
    if (isRetriable(err)) throw err;
    throw transient('KAFKA_UNAVAILABLE', `reading ${todo.map((r) => `${r.topic}[${r.partition}]`).join(', ')} failed: ${(err as Error).message}`, err);
  } finally {
    await cb((done) => consumer.disconnect((e) => done(e))).catch(() => undefined);
  }
}

/** The group's committed offsets (next offset to consume; -1 where none). */
export async function committedOffsets(brokers: readonly string[], groupId: string, tps: ReadonlyArray<{ topic: string; partition: number }>): Promise<Map<string, number>> {
  const { KafkaConsumer } = rd();
  const consumer = new KafkaConsumer({ 'metadata.broker.list': brokers.join(','), 'group.id': groupId, 'enable.auto.commit': false }, {});
  try {
    await cb((done) => consumer.connect({ timeout: 30_000 }, (err) => done(err)));
    const got = await cb<Rd.TopicPartitionOffset[]>((done) => consumer.committed(tps.map((t) => ({ topic: t.topic, partition: t.partition })), 10_000, (err, v) => done(err, v)));
    return new Map(got.map((t) => [`${t.topic}/${t.partition}`, Number(t.offset ?? -1)]));
  } catch (err) {
    throw transient('KAFKA_UNAVAILABLE', `committed offsets of ${groupId} failed: ${(err as Error).message}`, err);
  } finally {
    await cb((done) => consumer.disconnect((e) => done(e))).catch(() => undefined);
  }
}

/** Partition count and end offsets of a topic. */
export async function endOffsets(brokers: readonly string[], topic: string, partitions: number): Promise<number[]> {
  const { KafkaConsumer } = rd();
  const consumer = new KafkaConsumer({ 'metadata.broker.list': brokers.join(','), 'group.id': `solver-wm-${process.pid}`, 'isolation.level': 'read_committed' }, {});
  try {
    await cb((done) => consumer.connect({ timeout: 30_000 }, (err) => done(err)));
    const out: number[] = [];
    for (let p = 0; p < partitions; p++) {
      const wm = await cb<{ highOffset: number; lowOffset: number }>((done) => consumer.queryWatermarkOffsets(topic, p, 10_000, (err, v) => done(err, v)));
      out.push(wm.highOffset);
    }
    return out;
  } finally {
    await cb((done) => consumer.disconnect((e) => done(e))).catch(() => undefined);
  }
}
