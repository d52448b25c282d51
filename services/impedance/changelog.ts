// Reads the compacted mesh.impedance changelog, partitions given, from the beginning to its
// end (read_committed: what committed transactions wrote), keeping the latest ImpedanceUpdated
// per agent. node-rdkafka because it can assign partitions without a group and reports the
// end of a partition; the runtime's engine interface has no plain reader (yet).
import type * as Rd from 'node-rdkafka';
import type { HeartbeatReceived, ImpedanceUpdated } from '../../schemas/generated/events';
import type { DecodedEvent, EventCodec } from '../runtime/codec';
import { isRetriable, transient } from '../runtime/errors';
import { cb, rd } from '../runtime/kafka/rdkafka-lib';


export interface ChangelogReadOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly partitions: readonly number[];
  readonly codec: EventCodec;
  readonly timeoutMs?: number;
}

/** Latest ImpedanceUpdated per agent, by partition. */
export async function readChangelog(opts: ChangelogReadOptions): Promise<Map<number, Map<string, ImpedanceUpdated>>> {
  const out = new Map<number, Map<string, ImpedanceUpdated>>(opts.partitions.map((p) => [p, new Map()]));
  if (opts.partitions.length === 0) return out;
  const { KafkaConsumer } = rd();
  const consumer = new KafkaConsumer({
    'metadata.broker.list': opts.brokers.join(','),
    'group.id': `impedance-restore-${process.pid}-${Date.now()}`,
    'enable.auto.commit': false,
    'isolation.level': 'read_committed',
    'enable.partition.eof': true,
    'fetch.max.bytes': 52_428_800,
  }, { 'auto.offset.reset': 'earliest' });
  try {
    await cb((done) => consumer.connect({ timeout: opts.timeoutMs ?? 30_000 }, (err) => done(err)));
    consumer.assign(opts.partitions.map((partition) => ({ topic: opts.topic, partition, offset: 0 })));
    const pending = new Set(opts.partitions);
    consumer.on('partition.eof', (e) => pending.delete(e.partition));
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    while (pending.size > 0) {
      if (Date.now() > deadline) throw new Error(`partitions ${[...pending].join(',')} did not reach their end`);
      const messages = await cb<Rd.Message[]>((done) => consumer.consume(5000, (err, m) => done(err, m)));
      for (const m of messages ?? []) {
        if (!m.value) continue;
        const { event } = await opts.codec.decode(m.value);
        if (event.type !== 'ImpedanceUpdated') continue;
        const e = event as unknown as ImpedanceUpdated;
        out.get(m.partition)?.set(e.agent_id, e);
      }
    }
    return out;
  } catch (err) {
    throw transient('KAFKA_UNAVAILABLE', `restore from ${opts.topic} failed: ${(err as Error).message}`, err);
  } finally {
    await cb((done) => consumer.disconnect((e) => done(e))).catch(() => undefined);
  }
}

export interface TailReadOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly codec: EventCodec;
  /** The runner's check: a record it would dead-letter is not folded here either. */
  readonly validate: (event: DecodedEvent) => readonly string[];
  readonly timeoutMs?: number;
}

/**
 * The heartbeats of one partition at offsets [from, to): what the previous owner folded and
 * committed after its last changelog checkpoint. Read like the runner reads (read_committed,
 * undecodable and invalid records skipped: they went to the DLQ).
 */
export async function readHeartbeatTail(opts: TailReadOptions, partition: number, from: bigint, to: bigint): Promise<HeartbeatReceived[]> {
  const out: HeartbeatReceived[] = [];
  if (to <= from) return out;
  const { KafkaConsumer } = rd();
  const consumer = new KafkaConsumer({
    'metadata.broker.list': opts.brokers.join(','),
    'group.id': `impedance-tail-${process.pid}-${Date.now()}`,
    'enable.auto.commit': false,
    'isolation.level': 'read_committed',
    'enable.partition.eof': true,
    'fetch.max.bytes': 52_428_800,
  }, { 'auto.offset.reset': 'earliest' });
  try {
    await cb((done) => consumer.connect({ timeout: opts.timeoutMs ?? 30_000 }, (err) => done(err)));
    consumer.assign([{ topic: opts.topic, partition, offset: Number(from) }]);
    let eof = false;
    consumer.on('partition.eof', () => { eof = true; });
    const last = Number(to) - 1;
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    for (let done = false; !done && !eof;) {
      if (Date.now() > deadline) throw new Error(`partition ${partition} did not reach offset ${last}`);
      const messages = await cb<Rd.Message[]>((d) => consumer.consume(5000, (err, m) => d(err, m)));
      for (const m of messages ?? []) {
        if (m.offset > last) { done = true; break; }
        if (m.offset === last) done = true;
        let event: DecodedEvent;
        try { event = (await opts.codec.decode(m.value)).event; } catch (err) {
          if (isRetriable(err)) throw err;
          continue;
        }
        if (event.type !== 'HeartbeatReceived' || opts.validate(event).length > 0) continue;
        out.push(event as unknown as HeartbeatReceived);
      }
    }
    return out;
  } catch (err) {
    if (isRetriable(err)) throw err;
    throw transient('KAFKA_UNAVAILABLE', `reading ${opts.topic}[${partition}] from ${from} failed: ${(err as Error).message}`, err);
  } finally {
    await cb((done) => consumer.disconnect((e) => done(e))).catch(() => undefined);
  }
}

/** The group's committed offsets of `topic` partitions (-1 where it has none). */
export async function committedOffsets(brokers: readonly string[], groupId: string, topic: string, partitions: readonly number[]): Promise<Map<number, bigint>> {
  const { KafkaConsumer } = rd();
  // Not subscribed: this handle only asks the group coordinator, it never joins the group.
  const consumer = new KafkaConsumer({ 'metadata.broker.list': brokers.join(','), 'group.id': groupId, 'enable.auto.commit': false }, {});
  try {
    await cb((done) => consumer.connect({ timeout: 30_000 }, (err) => done(err)));
    const tps = await cb<Rd.TopicPartitionOffset[]>((done) => consumer.committed(partitions.map((partition) => ({ topic, partition })), 10_000, (err, v) => done(err, v)));
    return new Map(tps.map((t) => [t.partition, BigInt(t.offset ?? -1)]));
  } catch (err) {
    throw transient('KAFKA_UNAVAILABLE', `committed offsets of ${groupId} failed: ${(err as Error).message}`, err);
  } finally {
    await cb((done) => consumer.disconnect((e) => done(e))).catch(() => undefined);
  }
}
