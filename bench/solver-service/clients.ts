// The bench's own Kafka ends, node-rdkafka like the service: a producer that records when each
// record was handed to the client and which offset it got, and a read_committed consumer that
// records when each record arrived. The baseline (a plain topic) and the service path use the
// very same two, so their figures differ only by what the service adds.
import { Partitioners } from 'kafkajs';
import type * as Rd from 'node-rdkafka';
import { rdkafkaAuth } from '../../services/runtime/credentials';
import { cb, pollLoop, rd, watermarksOf } from '../../services/runtime/kafka/rdkafka-lib';

export interface Sent {
  /** performance.now() when produce() was called. */
  readonly at: number;
  partition: number;
  offset: number;
}

export interface BenchProducer {
  /** Queues one record; its Sent gets partition and offset from the delivery report. */
  send(topic: string, key: string, value: Buffer): Sent;
  /** Resolves when every record sent so far is acknowledged. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export interface ClientSettings {
  readonly lingerMs: number;
  /** More librdkafka properties (BENCH_RDKAFKA, e.g. socket.nagle.disable=true), for both ends. */
  readonly extra?: Record<string, string>;
}

export function extraFromEnv(raw = process.env.BENCH_RDKAFKA ?? ''): Record<string, string> {
  return Object.fromEntries(raw.split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
}

export async function benchProducer(brokers: readonly string[], s: ClientSettings): Promise<BenchProducer> {
  const p = new (rd().Producer)({
    'metadata.broker.list': brokers.join(','), ...rdkafkaAuth(), 'client.id': 'bench-solver-service', 'enable.idempotence': true,
    'linger.ms': s.lingerMs, 'queue.buffering.max.messages': 1_000_000, 'queue.buffering.max.kbytes': 1_048_576, dr_cb: true, ...s.extra,
  }, { partitioner: 'murmur2_random' });
  await cb((done) => p.connect({}, (err) => done(err)));
  // Delivery reports are polled: 1 ms keeps the offsets close behind the sends.
  p.setPollInterval(1);
  let pending = 0;
  let failed: unknown;
  let waiters: Array<() => void> = [];
  p.on('delivery-report', (err, report) => {
    const sent = report.opaque as Sent;
    if (err) failed ??= err;
    sent.partition = report.partition;
    sent.offset = Number(report.offset);
    if (--pending === 0) { const w = waiters; waiters = []; w.forEach((f) => f()); }
  });
  return {
    send(topic, key, value) {
      const sent: Sent = { at: performance.now(), partition: -1, offset: -1 };
      pending++;
      for (;;) {
        try {
          p.produce(topic, null, value, key, Date.now(), sent);
          return sent;
        } catch (err) {
          // Queue full: let the client deliver before queueing more.
          if ((err as { code?: number }).code !== rd().CODES.ERRORS.ERR__QUEUE_FULL) { pending--; throw err; }
          p.poll();
        }
      }
    },
    async drain() {
      if (pending > 0) await new Promise<void>((r) => waiters.push(r));
      if (failed) throw failed;
    },
    close: () => cb((done) => p.flush(10_000, () => p.disconnect((err) => done(err)))).then(() => undefined),
  };
}

export interface Arrival {
  readonly at: number;
  readonly partition: number;
  readonly offset: number;
  readonly value: Buffer;
}

export interface BenchConsumer {
  close(): Promise<void>;
}

/**
 * Reads `topic` (every partition, assigned by hand, read_committed) from its current end and
 * calls `onRecord` with the arrival time of each record. Not consume(n) with a timeout, which
 * keeps waiting until n records arrived and at 1,000 records/s holds them back for hundreds of ms:
 * pollLoop hands each record over as it is fetched.
 */
export async function benchConsumer(brokers: readonly string[], topic: string, partitions: number, onRecord: (a: Arrival) => void, extra: Record<string, string> = extraFromEnv()): Promise<BenchConsumer> {
  const { KafkaConsumer } = rd();
  const c: Rd.KafkaConsumer = new KafkaConsumer({
    'metadata.broker.list': brokers.join(','), ...rdkafkaAuth(), 'group.id': `bench-solver-service-${process.pid}`, 'enable.auto.commit': false,
    'isolation.level': 'read_committed', 'fetch.wait.max.ms': 100, ...extra,
  }, {});
  await cb((done) => c.connect({}, (err) => done(err)));
  const ends = await Promise.all([...Array(partitions).keys()].map((p) => watermarksOf(c, topic, p, { attempts: 50, delayMs: 200 })));
  c.assign(ends.map((w, p) => ({ topic, partition: p, offset: w.highOffset })));
  c.on('data', (m) => { if (m.value) onRecord({ at: performance.now(), partition: m.partition, offset: m.offset, value: m.value }); });
  const loop = pollLoop(c, { waitMs: 100, maxAvailable: 1_000, onError: () => undefined });
  return {
    async close() {
      await loop.stop();
      await cb((done) => c.disconnect((err) => done(err))).catch(() => undefined);
    },
  };
}


// kafkajs's default partitioner is murmur2 like the service's clients (co-partitioning rests on it).
const partitioner = Partitioners.DefaultPartitioner();

/** The partition a key goes to in a topic of `partitions` partitions. */
export function partitionOf(key: string, partitions: number): number {
  const partitionMetadata = [...Array(partitions).keys()].map((p) => ({ partitionErrorCode: 0, partitionId: p, leader: 1, replicas: [1], isr: [1] }));
  return partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
}
