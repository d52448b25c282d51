// The gateway's one Kafka consumer: every partition of the topics it serves, assigned by hand
// (no group: each instance reads everything, so any instance can serve any session), from the
// beginning (the projection and the stream history are folds of the log), read_committed like
// every service, following the log as it grows. Records reach onRecord one at a time, in
// per-partition order, decoded.
import type * as Rd from 'node-rdkafka';
import type { Logger } from 'pino';
import type { SolvermeshEvent } from '../../schemas/generated/events';
import type { EventCodec } from '../runtime/codec';
import { rdkafkaAuth } from '../runtime/credentials';
import { isRetriable } from '../runtime/errors';
import { cb, pollLoop, rd } from '../runtime/kafka/rdkafka-lib';

export interface FollowedRecord {
  /** Topic name without the deployment's prefix. */
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestampMs: number;
  readonly key: string | null;
  /** undefined when the bytes do not decode (what the services dead-letter). */
  readonly event: SolvermeshEvent | undefined;
}

export interface LogFollower {
  /** Resolves once every partition was read to the end it had when the follower started. */
  readonly caughtUp: Promise<void>;
  connected(): boolean;
  close(): Promise<void>;
}

export interface FollowOptions {
  readonly brokers: readonly string[];
  readonly codec: EventCodec;
  readonly prefix: string;
  readonly topics: ReadonlyArray<{ readonly name: string; readonly partitions: number }>;
  readonly onRecord: (r: FollowedRecord) => void;
  readonly logger: Logger;
}

const POLL_WAIT_MS = 100;
const MAX_AVAILABLE = 1_000;

export async function followLog(o: FollowOptions): Promise<LogFollower> {
  const { KafkaConsumer } = rd();
  const consumer = new KafkaConsumer({
    'metadata.broker.list': o.brokers.join(','), ...rdkafkaAuth(),
    'group.id': `solvermesh-gateway-${process.pid}-${Date.now()}`,
    'enable.auto.commit': false,
    'isolation.level': 'read_committed',
    'enable.partition.eof': true,
    // A stream's latency: the broker answers a fetch as soon as a record is there, or after this.
    'fetch.wait.max.ms': 10,
  }, { 'auto.offset.reset': 'earliest' });
  await cb((done) => consumer.connect({ timeout: 30_000 }, (err) => done(err)));
  const pending = new Set<string>();
  const assignment = o.topics.flatMap((t) => Array.from({ length: t.partitions }, (_, p) => {
    pending.add(`${o.prefix}${t.name}/${p}`);
    return { topic: o.prefix + t.name, partition: p, offset: -2 /* beginning */ };
  }));
  let caught!: () => void;
  const caughtUp = new Promise<void>((r) => (caught = r));
  consumer.on('partition.eof', (e) => {
    // Applied after the records before it: ends come through the same chain.
    chain = chain.then(() => {
      if (pending.delete(`${e.topic}/${e.partition}`) && pending.size === 0) caught();
    });
  });
  let chain: Promise<void> = Promise.resolve();
  const strip = (t: string) => (t.startsWith(o.prefix) ? t.slice(o.prefix.length) : t);
  const deliver = (m: Rd.Message, event: SolvermeshEvent | undefined) => o.onRecord({
    topic: strip(m.topic), partition: m.partition, offset: m.offset, timestampMs: m.timestamp ?? 0,
    key: m.key === undefined || m.key === null ? null : m.key.toString(), event,
  });
  let idle = true;
  consumer.on('data', (m) => {
    // The first record of each writer schema fetches it (async); later ones decode at once. Order
    // is kept: a record waits while an earlier one is still being decoded.
    if (idle) {
      let known;
      try { known = o.codec.decodeKnown(m.value); } catch { deliver(m, undefined); return; }
      if (known) { deliver(m, known.event); return; }
    }
    idle = false;
    chain = chain.then(async () => {
      let event: SolvermeshEvent | undefined;
      try { event = (await o.codec.decode(m.value)).event; } catch (err) {
        if (isRetriable(err)) o.logger.warn({ err, topic: m.topic, offset: m.offset }, 'registry unreachable: record shown undecoded');
      }
      deliver(m, event);
    }).catch((err: unknown) => o.logger.error({ err }, 'follower record handling failed'));
    const mine = chain;
    void mine.then(() => { if (chain === mine) idle = true; });
  });
  // librdkafka repeats an error on every poll while it lasts (a topic not created yet): once each.
  const said = new Set<string>();
  consumer.on('event.error', (err) => {
    if (said.has(err.message)) return;
    said.add(err.message);
    o.logger.warn({ err }, 'gateway consumer error');
  });
  consumer.assign(assignment);
  // Streams wait at most POLL_WAIT_MS for a record (pollLoop: never the flowing consume(), whose
  // loop crashed a gateway closed in the test suite). Records and partition ends reach the
  // listeners above, in order.
  const loop = pollLoop(consumer, {
    waitMs: POLL_WAIT_MS, maxAvailable: MAX_AVAILABLE,
    onError: (err) => {
      if (said.has(err.message)) return;
      said.add(err.message);
      o.logger.warn({ err }, 'gateway consume failed; polling again');
    },
  });
  if (pending.size === 0) caught();
  return {
    caughtUp,
    connected: () => consumer.isConnected(),
    close: async () => {
      await loop.stop();
      await cb((done) => consumer.disconnect((e) => done(e))).catch(() => undefined);
    },
  };
}
