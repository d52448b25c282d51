// kafkajs engine. kafkajs predates KIP-447, so a transaction cannot carry the consumer group's
// generation: zombie fencing needs one transactional id per input partition. Each assigned
// partition gets its own transactional producer, initialised when the partition is assigned
// (before its state is restored) and closed on revoke: the initialisation fences the previous
// owner's producer and aborts its open transaction, whose pending offsets would otherwise hold
// the restore's committed-offset read until the transaction timeout.
// Static membership (membership.ts) through kafkajs-static-membership.ts.
import { Kafka, logLevel, Partitioners, type Consumer, type EachBatchPayload, type LogEntry, type Producer as JsProducer, type Transaction } from 'kafkajs';
import type { Logger } from 'pino';
import { kafkajsConfig } from '../credentials';
import { transient } from '../errors';
import type {
  BatchProcessor, ConsumeOptions, EngineEvents, InRecord, KafkaEngine, OutRecord, PartitionBatch,
  PartitionProgress, Producer, RecordPosition, TransactionalConsumer,
} from './types';
import { withGroupInstanceId } from './kafkajs-static-membership';
import { SESSION_TIMEOUT_MS } from './membership';
import { RangeAssigner } from './range-assigner';
import { chunk, fetchedProgress, groupByTopic, tpKey } from './util';

export interface KafkajsEngineOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly instanceId: string;
  readonly logger: Logger;
}

// Bounded on purpose. kafkajs does not move a transactional producer off a dead broker
// (tulios/kafkajs#1416): retrying forever stalls the partition, while giving up aborts the
// transaction, drops the producer and lets a fresh one find the new leaders and coordinator.
// An aborted transaction leaves nothing behind, so the "limiting retries may invalidate EoS"
// warning kafkajs prints does not apply to these producers and is filtered out below.
const PRODUCER_RETRY = { retries: 5, initialRetryTime: 100, maxRetryTime: 3_000 };
const BENIGN = 'Limiting retries for the idempotent producer may invalidate EoS guarantees';

const PINO_LEVEL: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error', [logLevel.WARN]: 'warn', [logLevel.INFO]: 'info', [logLevel.DEBUG]: 'debug',
};

export function createKafkajsEngine(opts: KafkajsEngineOptions): KafkaEngine {
  const log = opts.logger.child({ component: 'kafkajs' });
  const kafka = new Kafka(kafkajsConfig({
    clientId: opts.clientId,
    brokers: [...opts.brokers],
    logLevel: logLevel.WARN,
    logCreator: () => ({ namespace, level, log: entry }: LogEntry) => {
      const { message, ...rest } = entry;
      if (message === BENIGN) return;
      log[PINO_LEVEL[level] ?? 'info']({ namespace, ...rest }, message);
    },
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5000 },
  }));

  return {
    kind: 'kafkajs',
    transactionalConsumer: (consumeOpts, events) => new KafkajsTransactionalConsumer(kafka, opts, consumeOpts, events ?? {}, log),
    producer: async () => {
      const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: PRODUCER_RETRY, createPartitioner: Partitioners.DefaultPartitioner });
      await p.connect();
      // kafkajs reports one base offset per partition, not where each record went: the records
      // are placed here with its own partitioner, so each one's offset is its base plus its rank.
      const place = Partitioners.DefaultPartitioner();
      const partitionCounts = new Map<string, Promise<number>>();
      const countOf = (topic: string) => {
        let c = partitionCounts.get(topic);
        if (!c) {
          c = (async () => {
            const admin = kafka.admin();
            await admin.connect();
            try { return (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.length; } finally { await admin.disconnect(); }
          })();
          c.catch(() => partitionCounts.delete(topic));
          partitionCounts.set(topic, c);
        }
        return c;
      };
      return {
        send: async (records) => {
          if (records.length === 0) return [];
          const partitions = await Promise.all(records.map(async (r) => {
            const n = await countOf(r.topic);
            const partitionMetadata = Array.from({ length: n }, (_, id) => ({ partitionId: id, leader: 0, partitionErrorCode: 0, replicas: [], isr: [] }));
            return place({ topic: r.topic, partitionMetadata, message: { key: r.key, value: r.value } });
          }));
          const rank = new Map<string, number>();
          const ranks = records.map((r, i) => {
            const k = tpKey(r.topic, partitions[i]!);
            const n = rank.get(k) ?? 0;
            rank.set(k, n + 1);
            return n;
          });
          const placed = records.map((r, i) => ({ ...r, partition: partitions[i]! }));
          const meta = await p.sendBatch({ topicMessages: groupByTopic(placed), acks: -1 });
          const base = new Map(meta.map((m) => [tpKey(m.topicName, m.partition), Number(m.baseOffset)]));
          return records.map((r, i): RecordPosition => ({ partition: partitions[i]!, offset: base.get(tpKey(r.topic, partitions[i]!))! + ranks[i]! }));
        },
        close: () => p.disconnect(),
      } satisfies Producer;
    },
  };
}

class KafkajsTransactionalConsumer implements TransactionalConsumer {
  private readonly consumer: Consumer;
  private readonly producers = new Map<string, Promise<JsProducer>>();
  private readonly positions = new Map<string, PartitionProgress>();
  private assigned = new Set<string>();
  /** The last assignment's producers initialised and the processor told of it: batches wait for it. */
  private fenced: Promise<void> = Promise.resolve();

  constructor(
    private readonly kafka: Kafka,
    private readonly engineOpts: KafkajsEngineOptions,
    private readonly opts: ConsumeOptions,
    private readonly events: EngineEvents,
    private readonly log: Logger,
  ) {
    this.consumer = kafka.consumer({
      groupId: opts.groupId,
      readUncommitted: false,
      sessionTimeout: SESSION_TIMEOUT_MS,
      rebalanceTimeout: 60_000,
      heartbeatInterval: 3_000,
      maxBytesPerPartition: 4 * 1024 * 1024,
      retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 10_000 },
      partitionAssigners: [RangeAssigner],
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => this.onJoin(e.payload.memberAssignment));
    this.consumer.on(this.consumer.events.CRASH, (e) => this.events.onError?.(e.payload.error));
  }

  async start(process: BatchProcessor): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...this.opts.topics], fromBeginning: this.opts.fromBeginning });
    const run = withGroupInstanceId(this.engineOpts.instanceId, () => this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.eachBatch(payload, process),
    }));
    if (!run.static) this.log.warn('kafkajs could not be given group.instance.id: this member is dynamic (a restart waits out the session timeout)');
    await run.result;
  }

  private async eachBatch(payload: EachBatchPayload, process: BatchProcessor): Promise<void> {
    const { batch, heartbeat, resolveOffset, isRunning, isStale } = payload;
    await this.fenced;
    const all: InRecord[] = batch.messages.map((m) => ({
      topic: batch.topic,
      partition: batch.partition,
      offset: m.offset,
      key: m.key,
      value: m.value,
      headers: normaliseHeaders(m.headers),
      timestamp: m.timestamp,
    }));
    for (const records of chunk(all, this.opts.maxBatchRecords ?? 500)) {
      // After a rebalance or stop() the rest of a fetched batch belongs to someone else.
      if (!isRunning() || isStale()) return;
      const view: PartitionBatch = { topic: batch.topic, partition: batch.partition, records, highWatermark: batch.highWatermark };
      if (!this.positions.has(tpKey(view.topic, view.partition))) this.positions.set(tpKey(view.topic, view.partition), fetchedProgress(view, view.highWatermark));
      const outputs = await process(view, { heartbeat });
      const last = records[records.length - 1]!.offset;
      try {
        await this.commit(view, outputs, last);
      } catch (err) {
        this.events.onAborted?.([view], err);
        throw err;
      }
      resolveOffset(last);
      this.track(view, last);
      this.events.onCommitted?.(view, outputs.length);
      await heartbeat();
    }
  }

  private async commit(batch: PartitionBatch, outputs: OutRecord[], lastOffset: string): Promise<void> {
    const producer = await this.producerFor(batch.topic, batch.partition);
    let tx: Transaction | undefined;
    try {
      tx = await producer.transaction();
      if (outputs.length > 0) await tx.sendBatch({ topicMessages: groupByTopic(outputs), acks: -1 });
      await sendOffsetsRetrying(tx, {
        consumerGroupId: this.opts.groupId,
        topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(lastOffset) + 1n).toString() }] }],
      });
      await tx.commit();
    } catch (err) {
      if (tx?.isActive()) await tx.abort().catch((e: unknown) => this.log.warn({ err: e }, 'abort failed'));
      // The producer may be fenced or in an unknown state: start over with a fresh one.
      await this.dropProducer(tpKey(batch.topic, batch.partition));
      throw transient('KAFKA_UNAVAILABLE', `transaction for ${batch.topic}[${batch.partition}] failed: ${(err as Error).message}`, err);
    }
  }

  private producerFor(topic: string, partition: number): Promise<JsProducer> {
    const key = tpKey(topic, partition);
    let p = this.producers.get(key);
    if (!p) {
      const producer = this.kafka.producer({
        transactionalId: `${this.opts.groupId}.${topic}.${partition}`,
        idempotent: true,
        maxInFlightRequests: 1,
        transactionTimeout: 20_000,
        retry: PRODUCER_RETRY,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      // transaction() initialises the transactional id (kafkajs's connect() does not); the empty
      // transaction is aborted without a request.
      p = producer.connect().then(() => producer.transaction()).then((tx) => tx.abort()).then(() => producer);
      p.catch(() => this.producers.delete(key));
      this.producers.set(key, p);
    }
    return p;
  }

  private async dropProducer(key: string): Promise<void> {
    const p = this.producers.get(key);
    this.producers.delete(key);
    if (p) await p.then((x) => x.disconnect()).catch(() => undefined);
  }

  private onJoin(assignment: Record<string, number[]>): void {
    const next = new Set<string>();
    const list: Array<{ topic: string; partition: number }> = [];
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) { next.add(tpKey(topic, partition)); list.push({ topic, partition }); }
    }
    const revoked = [...this.assigned].filter((k) => !next.has(k));
    for (const k of revoked) { void this.dropProducer(k); this.positions.delete(k); }
    this.assigned = next;
    if (revoked.length) this.events.onRevoked?.(revoked.map(parseTp));
    this.fenced = Promise.allSettled(list.map((p) => this.producerFor(p.topic, p.partition))).then(() => {
      this.events.onAssigned?.(list);
      this.log.info({ group: this.opts.groupId, instance: this.engineOpts.instanceId, assigned: list.length, revoked: revoked.length }, 'partitions assigned');
    });
  }

  private track(batch: PartitionBatch, last: string): void {
    const position = (BigInt(last) + 1n).toString();
    const lag = Number(BigInt(batch.highWatermark) - BigInt(position));
    this.positions.set(tpKey(batch.topic, batch.partition), {
      topic: batch.topic, partition: batch.partition, position, highWatermark: batch.highWatermark, lag: Math.max(0, lag),
    });
  }

  progress(): PartitionProgress[] {
    return [...this.positions.values()];
  }

  async stop(): Promise<void> {
    await this.consumer.stop();
    await this.consumer.disconnect();
    await Promise.all([...this.producers.keys()].map((k) => this.dropProducer(k)));
  }
}

const NO_HEADERS: Record<string, string | Buffer> = Object.freeze({}) as Record<string, string | Buffer>;

function normaliseHeaders(h: Record<string, unknown> | undefined): Record<string, string | Buffer> {
  // Most records carry none: no object and no Object.entries per record for them.
  let any = false;
  for (const k in h) { if (Object.prototype.hasOwnProperty.call(h, k)) { any = true; break; } }
  if (!any) return NO_HEADERS;
  const out: Record<string, string | Buffer> = {};
  for (const [k, v] of Object.entries(h!)) {
    const one = Array.isArray(v) ? v[0] : v;
    if (Buffer.isBuffer(one) || typeof one === 'string') out[k] = one;
  }
  return out;
}

function parseTp(key: string): { topic: string; partition: number } {
  const i = key.lastIndexOf('|');
  return { topic: key.slice(0, i), partition: Number(key.slice(i + 1)) };
}

/**
 * kafkajs retries AddPartitionsToTxn but not AddOffsetsToTxn (tulios/kafkajs#430, #1068): right
 * after a commit the coordinator answers CONCURRENT_TRANSACTIONS until the previous
 * transaction's markers are written. The refused request changed nothing, so it is sent again,
 * as the Java client does, instead of aborting the batch and re-creating the producer.
 */
async function sendOffsetsRetrying(tx: Transaction, offsets: Parameters<Transaction['sendOffsets']>[0], attempts = 20): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await tx.sendOffsets(offsets);
      return;
    } catch (err) {
      const e = err as { type?: string; cause?: { type?: string } };
      const concurrent = e.type === 'CONCURRENT_TRANSACTIONS' || e.cause?.type === 'CONCURRENT_TRANSACTIONS';
      if (!concurrent || attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, Math.min(100, 5 * attempt)));
    }
  }
}
