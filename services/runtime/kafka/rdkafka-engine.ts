// node-rdkafka engine. librdkafka implements KIP-447: the transaction carries the consumer
// group's metadata, so one transactional producer per instance is fenced correctly across
// rebalances, and a transaction may commit offsets of several partitions at once.
//
// Static membership (membership.ts): group.instance.id = INSTANCE_ID. The producer is
// initialised before the consumer joins, so a restart aborts the dead process's open transaction
// before the partitions' restore reads to their stable offsets. librdkafka's static members do
// not leave the group on close (KIP-345), so stop() leaves it explicitly.
import type * as Rd from 'node-rdkafka';
import type { Logger } from 'pino';
import { rdkafkaAuth } from '../credentials';
import { transient } from '../errors';
import type {
  BatchProcessor, ConsumeOptions, EngineEvents, Headers, InRecord, KafkaEngine, OutRecord, PartitionBatch,
  PartitionProgress, Producer, ProducerOptions, RecordPosition, TransactionalConsumer,
} from './types';
import { CommitPipeline } from './commit-pipeline';
import { SESSION_TIMEOUT_MS } from './membership';
import { cb, rd } from './rdkafka-lib';
import { fetchedProgress, tpKey } from './util';

export interface RdkafkaEngineOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly instanceId: string;
  readonly logger: Logger;
  /** librdkafka's `debug` contexts (KAFKA_DEBUG); its lines go to the logger at debug level. */
  readonly debug?: string;
  /** How long sendOffsetsToTransaction may run before its producer is given up (KAFKA_SEND_OFFSETS_BOUND_MS; default 35 s). */
  readonly sendOffsetsBoundMs?: number;
}

// Java-compatible key hashing: the kafkajs engine and Java clients put a key on the same
// partition, which co-partitioning by session_id depends on. librdkafka defaults to CRC32.
const PARTITIONER = 'murmur2_random';
export const FETCH_BYTES_PER_PARTITION = 4 * 1024 * 1024;
/** How long stop() serves the revocation that leaving the group starts before it closes anyway. */
const LEAVE_TIMEOUT_MS = 5_000;
/** How long initTransactions is asked again while the transaction coordinator answers with retriable errors. */
const INIT_TIMEOUT_MS = 60_000;
/** How long sendOffsetsToTransaction may run before the engine gives its producer up (KAFKA_SEND_OFFSETS_BOUND_MS's default); librdkafka is asked for STUCK_GRACE_MS less. */
const SEND_OFFSETS_BOUND_MS = 35_000;
const STUCK_GRACE_MS = 5_000;

export function createRdkafkaEngine(opts: RdkafkaEngineOptions): KafkaEngine {
  const log = opts.logger.child({ component: 'rdkafka' });
  const base: Record<string, string> = { 'metadata.broker.list': opts.brokers.join(','), 'client.id': opts.clientId, ...rdkafkaAuth(), ...(opts.debug ? { debug: opts.debug } : {}) };
  return {
    kind: 'rdkafka',
    transactionalConsumer: (consumeOpts, events) => new RdkafkaTransactionalConsumer(base, opts, consumeOpts, events ?? {}, log),
    producer: async (popts: ProducerOptions = {}) => {
      const p = traced(new (rd().Producer)({ ...base, 'enable.idempotence': true, 'linger.ms': popts.lingerMs ?? 5, dr_cb: true }, { partitioner: PARTITIONER }), opts, 'producer');
      await cb((done) => p.connect({}, (err) => done(err)));
      p.setPollInterval(popts.deliveryPollMs ?? 50);
      const pending = new Map<number, { resolve: (at: RecordPosition) => void; reject: (e: unknown) => void }>();
      let seq = 0;
      p.on('delivery-report', (err, report) => {
        const waiter = pending.get(report.opaque as number);
        if (!waiter) return;
        pending.delete(report.opaque as number);
        if (err) waiter.reject(err); else waiter.resolve({ partition: report.partition, offset: Number(report.offset) });
      });
      return {
        send: async (records) => {
          const acks = records.map((r) => new Promise<RecordPosition>((resolve, reject) => {
            const id = ++seq;
            pending.set(id, { resolve, reject });
            produceOne(p, r, id);
          }));
          return Promise.all(acks);
        },
        close: () => cb((done) => p.flush(10_000, () => p.disconnect((err) => done(err)))).then(() => undefined),
      } satisfies Producer;
    },
  };
}

/** librdkafka's own lines (KAFKA_DEBUG) at debug level, whatever the service's level: asked for explicitly. */
function traced<C extends Rd.Producer | Rd.KafkaConsumer>(client: C, opts: RdkafkaEngineOptions, role: string): C {
  if (!opts.debug) return client;
  const log = opts.logger.child({ component: 'librdkafka', role }, { level: 'debug' });
  (client as Rd.Producer).on('event.log', (e) => log.debug({ fac: e.fac }, e.message));
  return client;
}

function produceOne(p: Rd.Producer, r: OutRecord, opaque?: unknown): void {
  const headers = r.headers ? Object.entries(r.headers).map(([k, v]) => ({ [k]: v })) : undefined;
  const key = r.key === null ? null : Buffer.isBuffer(r.key) ? r.key : Buffer.from(r.key);
  p.produce(r.topic, null, r.value, key, Date.now(), opaque, headers);
}

class RdkafkaTransactionalConsumer implements TransactionalConsumer {
  private consumer!: Rd.KafkaConsumer;
  private producer!: Rd.Producer;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly positions = new Map<string, PartitionProgress>();
  private pipeline: CommitPipeline<PartitionBatch, OutRecord[]> | undefined;
  /** Rebalance hooks held back while a commit runs behind the loop: a new owner's restore must see its offsets. */
  private deferred: Array<() => void> = [];
  /** Set by a revocation: stop() waits for the one its unsubscribe starts. */
  private revoked = false;
  /** The partitions assigned now (what a replaced consumer held). */
  private held: Rd.Assignment[] = [];
  /** When the consumer was last replaced after a fatal error, and whether it is no longer replaced. */
  private replacedAt: number | undefined;
  private gaveUp = false;
  /** A producer whose transactional call outlived its timeout, and that call. */
  private stuck: { readonly producer: Rd.Producer; readonly call: Promise<void> } | undefined;

  constructor(
    private readonly base: Record<string, string>,
    private readonly engineOpts: RdkafkaEngineOptions,
    private readonly opts: ConsumeOptions,
    private readonly events: EngineEvents,
    private readonly log: Logger,
  ) {}

  async start(process: BatchProcessor): Promise<void> {
    // The producer first: its initTransactions fences a dead predecessor under the same id and
    // aborts its open transaction before the partitions' restore reads up to the stable offset.
    await this.newProducer();
    await this.newConsumer();
    this.running = true;
    this.loop = this.run(process).catch((err: unknown) => {
      this.log.error({ err }, 'consume loop failed');
      this.events.onError?.(err);
    });
  }

  private async newConsumer(): Promise<void> {
    const { KafkaConsumer } = rd();
    const consumer = new KafkaConsumer({
      ...this.base,
      'group.id': this.opts.groupId,
      'group.instance.id': this.engineOpts.instanceId,
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
      'isolation.level': 'read_committed',
      'session.timeout.ms': SESSION_TIMEOUT_MS,
      // Fetch runs of one partition as long as kafkajs's (4 MiB): consume(max) then hands over
      // long runs of few partitions, not short slices of all, and per-partition work (the
      // impedance registry writes an agent once per batch) coalesces over more records.
      'max.partition.fetch.bytes': FETCH_BYTES_PER_PARTITION,
      'max.poll.interval.ms': 300_000,
      rebalance_cb: true,
    }, { 'auto.offset.reset': this.opts.fromBeginning ? 'earliest' : 'latest' });
    traced(consumer, this.engineOpts, 'consumer');
    consumer.on('rebalance', (err, assignment) => { if (consumer === this.consumer) this.onRebalance(err, assignment); });
    consumer.on('event.error', (err) => { if (consumer === this.consumer) this.events.onError?.(err); });
    this.consumer = consumer;
    await cb((done) => consumer.connect({}, (err) => done(err)));
    consumer.setDefaultConsumeTimeout(this.opts.tuning?.pollTimeoutMs ?? 100);
    consumer.subscribe([...this.opts.topics]);
  }

  /**
   * A fatal consumer error leaves librdkafka's consumer unusable for good: after the only broker
   * restarted, the group coordinator loaded the static member from before and fenced the
   * client's heartbeat (FENCED_INSTANCE_ID), and the service went on running without consuming
   * anything. What it held is revoked, as a rebalance would (nothing of it was committed since),
   * and a new consumer joins under the same instance id, which takes the member's place.
   */
  /**
   * A second fatal error within two sessions of a replacement: most likely another live process
   * under the same INSTANCE_ID, which a new consumer would fence in turn (observed: two such
   * processes took the group from each other every second). Not replaced again; said once.
   */
  private fencedAgain(): boolean {
    if (this.replacedAt === undefined || Date.now() - this.replacedAt > 2 * SESSION_TIMEOUT_MS) return false;
    if (!this.gaveUp) this.log.error({ group: this.opts.groupId, instance: this.engineOpts.instanceId }, 'fatal consumer error again right after joining anew: is another live process running under this INSTANCE_ID? this one consumes no more');
    this.gaveUp = true;
    return true;
  }

  private async replaceConsumer(err: unknown): Promise<void> {
    this.replacedAt = Date.now();
    this.log.warn({ err: (err as Error).message, group: this.opts.groupId, instance: this.engineOpts.instanceId }, 'fatal consumer error; joining again with a new consumer');
    const old = this.consumer;
    this.onRebalance({ code: rd().CODES.ERRORS.ERR__REVOKE_PARTITIONS } as Rd.LibrdKafkaError, this.held);
    await cb((done) => old.disconnect((e) => done(e))).catch(() => undefined);
    await this.newConsumer();
  }

  private async newProducer(): Promise<void> {
    this.producer = new (rd().Producer)({
      ...this.base,
      'transactional.id': `${this.opts.groupId}.${this.engineOpts.instanceId}`,
      'enable.idempotence': true,
      'transaction.timeout.ms': 20_000,
      'linger.ms': 1,
      // librdkafka backs retries off exponentially up to retry.backoff.max.ms (1 s); the refusals
      // after a commit clear within a few ms, so the ceiling stays near the backoff.
      ...(this.opts.tuning?.retryBackoffMs !== undefined
        ? { 'retry.backoff.ms': this.opts.tuning.retryBackoffMs, 'retry.backoff.max.ms': Math.max(20, this.opts.tuning.retryBackoffMs) }
        : {}),
    }, { partitioner: PARTITIONER });
    traced(this.producer, this.engineOpts, 'txn-producer');
    await cb((done) => this.producer.connect({}, (err) => done(err)));
    this.producer.setPollInterval(50);
    // A coordinator still loading its log (a cluster just started, or the transaction
    // coordinator moved to another broker) answers with a retriable error: asked again.
    const deadline = Date.now() + INIT_TIMEOUT_MS;
    for (;;) {
      try {
        await cb((done) => this.producer.initTransactions(Math.max(1_000, deadline - Date.now()), (err) => done(err)));
        return;
      } catch (err) {
        if ((err as { isRetriable?: boolean }).isRetriable !== true || Date.now() >= deadline) throw err;
        this.log.warn({ err: (err as Error).message }, 'initTransactions refused (retriable); asking again');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private async run(process: BatchProcessor): Promise<void> {
    const max = this.opts.maxBatchRecords ?? 500;
    const pipeline = new CommitPipeline<PartitionBatch, OutRecord[]>({
      process: (batches) => this.process(batches, process),
      commit: (batches, outputs) => this.commit(batches, outputs),
      aborted: (batches, err) => this.events.onAborted?.(batches, err),
      settled: () => {
        const hooks = this.deferred;
        this.deferred = [];
        for (const fire of hooks) fire();
      },
      empty: (outputs) => outputs.length === 0,
    }, this.opts.tuning?.overlapCommit === true, this.opts.tuning?.carryEmpty === true ? { maxAgeMs: this.opts.tuning.pollTimeoutMs ?? 100, now: Date.now } : undefined);
    this.pipeline = pipeline;
    let backoff = 100;
    while (this.running) {
      let rewind;
      try {
        const messages = this.opts.tuning?.returnAvailable ? await this.consumeAvailable(max) : await cb<Rd.Message[]>((done) => this.consumer.consume(max, (err, m) => done(err, m)));
        const batches = messages && messages.length > 0 ? groupByPartition(messages) : [];
        for (const b of batches) this.fetched(b);
        // A rebalance during the commit: its hooks (and this batch) wait for the commit's end.
        rewind = await pipeline.step(batches, this.deferred.length > 0);
      } catch (err) {
        rewind = { batches: [], error: err };
      }
      if (!rewind) { backoff = 100; continue; }
      if ((rewind.error as { code?: unknown }).code === rd().CODES.ERRORS.ERR__FATAL && !this.fencedAgain()) {
        await this.replaceConsumer(rewind.error).catch((e: unknown) => this.log.error({ err: e }, 'could not replace the consumer'));
        this.events.onError?.(rewind.error);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 10_000);
        continue;
      }
      this.log.warn({ err: (rewind.error as Error).message }, 'batch failed; rewinding to its first offsets');
      await this.rewind(rewind.batches);
      this.events.onError?.(rewind.error);
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 10_000);
    }
    // Offsets of batches without outputs still waiting for a transaction go in one now.
    if (pipeline.waiting.length > 0) {
      const failed = await pipeline.step([]);
      if (failed) this.log.warn({ err: (failed.error as Error).message }, 'offsets of the last batches without outputs did not commit at shutdown; their records will be consumed again');
    }
    const last = await pipeline.settle();
    if (last) this.log.warn({ err: (last.error as Error).message }, 'last transaction failed at shutdown; its records will be consumed again');
  }

  /** Seeks each partition back to the first offset of its earliest batch that did not commit. */
  private async rewind(batches: readonly PartitionBatch[]): Promise<void> {
    const first = new Map<string, { topic: string; partition: number; offset: number }>();
    for (const b of batches) {
      const k = tpKey(b.topic, b.partition);
      const offset = Number(b.records[0]!.offset);
      if (!first.has(k) || first.get(k)!.offset > offset) first.set(k, { topic: b.topic, partition: b.partition, offset });
    }
    for (const tp of first.values()) {
      await cb((done) => this.consumer.seek(tp, 5_000, (e) => done(e))).catch(() => undefined);
    }
  }

  /** Waits (poll timeout) for one record, then takes what is already fetched without waiting. */
  private async consumeAvailable(max: number): Promise<Rd.Message[]> {
    this.consumer.setDefaultConsumeTimeout(this.opts.tuning?.pollTimeoutMs ?? 100);
    const t0 = this.log.isLevelEnabled('debug') ? performance.now() : 0;
    const first = await cb<Rd.Message[]>((done) => this.consumer.consume(1, (err, m) => done(err, m)));
    if (t0) this.log.debug({ waitedMs: performance.now() - t0, got: first?.length ?? 0 }, 'consume: first record');
    if (!first || first.length === 0 || max <= 1) return first ?? [];
    this.consumer.setDefaultConsumeTimeout(0);
    const rest = await cb<Rd.Message[]>((done) => this.consumer.consume(max - 1, (err, m) => done(err, m)));
    return rest && rest.length > 0 ? first.concat(rest) : first;
  }

  private async process(batches: readonly PartitionBatch[], process: BatchProcessor): Promise<OutRecord[]> {
    const outputs: OutRecord[] = [];
    for (const b of batches) for (const r of await process(b, { heartbeat: async () => undefined })) outputs.push(r);
    return outputs;
  }

  /** Begins the transaction and sends the offsets; resolves with the commit under way (see CommitPipeline). */
  private async commit(batches: readonly PartitionBatch[], outputs: OutRecord[]): Promise<{ readonly committed: Promise<void> }> {
    // Where a transaction's time goes (LOG_LEVEL=debug): begin, offsets sent, commit.
    const t0 = this.log.isLevelEnabled('debug') ? performance.now() : 0;
    let t1 = 0, t2 = 0;
    try {
      await cb((done) => this.producer.beginTransaction((err) => done(err)));
      if (t0) t1 = performance.now();
      for (const r of outputs) produceOne(this.producer, r);
      const offsets = nextOffsets(batches);
      await this.sendOffsets(offsets);
      if (t0) t2 = performance.now();
    } catch (err) {
      throw await this.aborted(batches, err);
    }
    const committed = cb((done) => this.producer.commitTransaction(30_000, (err) => done(err))).then(
      () => {
        if (t0) {
          const records = batches.reduce((n, b) => n + b.records.length, 0);
          this.log.debug({ records, outputs: outputs.length, beginMs: t1 - t0, offsetsMs: t2 - t1, commitMs: performance.now() - t2 }, 'transaction committed');
        }
        for (const b of batches) {
          this.track(b);
          this.events.onCommitted?.(b, 0);
        }
      },
      async (err: unknown) => { throw await this.aborted(batches, err); },
    );
    return { committed };
  }

  /**
   * Sends the offsets into the transaction within the bound, whatever librdkafka does. librdkafka
   * 2.12 (the version here) keeps no timeout while the offsets' request waits for the group
   * coordinator (confluentinc/librdkafka#5456): when the coordinator's broker dies, the call
   * returns only once the cluster has fenced that broker and the client has found the new
   * coordinator, and never if the client dropped the broker from its metadata before the request
   * began (#5511: the request waits on the dropped broker, which nothing wakes; both seen here
   * with a three-broker cluster, test/e2e/stuck-send-offsets). The consume loop waits on this
   * call: one that never returns stalls the service for good while its member, heartbeating on
   * its own, keeps the partitions. Past the bound the producer is given up (see aborted()).
   */
  private async sendOffsets(offsets: Array<{ topic: string; partition: number; offset: number }>): Promise<void> {
    const producer = this.producer;
    const bound = this.engineOpts.sendOffsetsBoundMs ?? SEND_OFFSETS_BOUND_MS;
    // Settled either way, never rejected: the race below reads its outcome, aborted() waits for its end.
    const call = cb((done) => producer.sendOffsetsToTransaction(offsets, this.consumer, Math.max(1_000, bound - STUCK_GRACE_MS), (err) => done(err)))
      .then(() => undefined, (err: unknown) => ({ err }));
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => { timer = setTimeout(() => resolve('expired'), bound); });
    const outcome = await Promise.race([call, expired]).finally(() => clearTimeout(timer));
    if (outcome === undefined) return;
    if (outcome !== 'expired') throw outcome.err;
    this.stuck = { producer, call: call.then(() => undefined) };
    throw new Error(`sendOffsetsToTransaction did not return within ${bound} ms (group coordinator gone?)`);
  }

  /** Aborts the transaction (or replaces a producer that cannot abort); the error to report. */
  private async aborted(batches: readonly PartitionBatch[], err: unknown): Promise<unknown> {
    const stuck = this.stuck;
    this.stuck = undefined;
    if (stuck) {
      // A call still under way inside the old producer: no abort can run beside it. A new
      // producer under the same transactional id fences it, and its initTransactions aborts the
      // open transaction (its outputs and offsets; nothing of it was committed): the batch is
      // consumed again. The old one is closed once its call returned (closing it under the call
      // could free what the call still uses).
      this.log.warn({ err: (err as Error).message }, 'a transactional call is stuck; fencing its producer with a new one');
      void stuck.call.then(() => cb((done) => stuck.producer.disconnect((e) => done(e)))).catch(() => undefined);
      await this.newProducer();
    } else {
      await cb((done) => this.producer.abortTransaction(10_000, (e) => done(e))).catch(async () => {
        // An error that cannot be aborted (fenced, fatal) leaves the producer unusable.
        await cb((done) => this.producer.disconnect((e) => done(e))).catch(() => undefined);
        await this.newProducer();
      });
    }
    this.events.onAborted?.(batches, err);
    return transient('KAFKA_UNAVAILABLE', `transaction failed: ${(err as Error).message}`, err);
  }

  private fetched(b: PartitionBatch): void {
    const k = tpKey(b.topic, b.partition);
    if (!this.positions.has(k)) this.positions.set(k, fetchedProgress(b, this.highWatermark(b)));
  }

  private highWatermark(b: PartitionBatch): string {
    try {
      return String(this.consumer.getWatermarkOffsets(b.topic, b.partition).highOffset);
    } catch {
      return b.highWatermark; // watermarks not cached yet
    }
  }

  private track(b: PartitionBatch): void {
    const position = String(Number(b.records[b.records.length - 1]!.offset) + 1);
    const high = this.highWatermark(b);
    this.positions.set(tpKey(b.topic, b.partition), {
      topic: b.topic, partition: b.partition, position, highWatermark: high, lag: Math.max(0, Number(high) - Number(position)),
    });
  }

  private onRebalance(err: Rd.LibrdKafkaError, assignment: Rd.Assignment[]): void {
    if (this.pipeline?.committing) { this.deferred.push(() => this.rebalanced(err, assignment)); return; }
    this.rebalanced(err, assignment);
  }

  private rebalanced(err: Rd.LibrdKafkaError, assignment: Rd.Assignment[]): void {
    // Batches without outputs waiting for a transaction may be of partitions this rebalance moves
    // (a commit of their offsets would be fenced): their records are consumed again instead.
    this.pipeline?.dropCarried();
    const list = assignment.map((a) => ({ topic: a.topic, partition: a.partition }));
    if (err.code === rd().CODES.ERRORS.ERR__ASSIGN_PARTITIONS) {
      this.held = [...this.held, ...assignment];
      this.events.onAssigned?.(list);
      this.log.info({ group: this.opts.groupId, instance: this.engineOpts.instanceId, assigned: list.length }, 'partitions assigned');
    } else {
      for (const p of list) this.positions.delete(tpKey(p.topic, p.partition));
      const gone = new Set(list.map((p) => tpKey(p.topic, p.partition)));
      this.held = this.held.filter((a) => !gone.has(tpKey(a.topic, a.partition)));
      this.revoked = true;
      this.events.onRevoked?.(list);
    }
  }

  /**
   * Leaves the group before closing. librdkafka sends LeaveGroup for a static member only on
   * unsubscribe (not on close): after the revocation that unsubscribe starts, once the
   * partitions are unassigned. Records still fetched meanwhile are dropped: nothing of them
   * was committed, the next owner consumes them.
   */
  private async leave(): Promise<void> {
    this.revoked = false;
    try {
      this.consumer.unsubscribe();
    } catch {
      return; // not connected: nothing to leave
    }
    this.consumer.setDefaultConsumeTimeout(50);
    const deadline = Date.now() + LEAVE_TIMEOUT_MS;
    while (!this.revoked && Date.now() < deadline) {
      await cb<Rd.Message[]>((done) => this.consumer.consume(100, (err, m) => done(err, m))).catch(() => undefined);
    }
    if (!this.revoked) this.log.warn({ group: this.opts.groupId }, 'no revocation within the leave timeout; closing (the group waits out the session)');
  }

  progress(): PartitionProgress[] {
    return [...this.positions.values()];
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.leave();
    await cb((done) => this.consumer.disconnect((err) => done(err))).catch(() => undefined);
    await cb((done) => this.producer.disconnect((err) => done(err))).catch(() => undefined);
  }
}

/** Per partition, the offset after its last record in `batches` (carried batches repeat partitions). */
function nextOffsets(batches: readonly PartitionBatch[]): Array<{ topic: string; partition: number; offset: number }> {
  const next = new Map<string, { topic: string; partition: number; offset: number }>();
  for (const b of batches) {
    const offset = Number(b.records[b.records.length - 1]!.offset) + 1;
    const k = tpKey(b.topic, b.partition);
    if ((next.get(k)?.offset ?? -1) < offset) next.set(k, { topic: b.topic, partition: b.partition, offset });
  }
  return [...next.values()];
}

function groupByPartition(messages: Rd.Message[]): PartitionBatch[] {
  const map = new Map<string, { topic: string; partition: number; records: InRecord[] }>();
  for (const m of messages) {
    const k = tpKey(m.topic, m.partition);
    let g = map.get(k);
    if (!g) { g = { topic: m.topic, partition: m.partition, records: [] }; map.set(k, g); }
    g.records.push({
      topic: m.topic,
      partition: m.partition,
      offset: String(m.offset),
      key: m.key === undefined || m.key === null ? null : Buffer.isBuffer(m.key) ? m.key : Buffer.from(String(m.key)),
      value: m.value ?? null,
      headers: toHeaders(m.headers),
      timestamp: String(m.timestamp ?? 0),
    });
  }
  return [...map.values()].map((g) => ({ ...g, highWatermark: String(Number(g.records[g.records.length - 1]!.offset) + 1) }));
}

const NO_HEADERS: Headers = Object.freeze({}) as Headers;

function toHeaders(h: Rd.MessageHeader[] | undefined): Headers {
  if (!h || h.length === 0) return NO_HEADERS;
  const out: Headers = {};
  for (const entry of h ?? []) {
    for (const [k, v] of Object.entries(entry)) out[k] = Buffer.isBuffer(v) ? v : String(v);
  }
  return out;
}

