// The processor runner: consume -> decode -> validate -> handle -> encode -> produce + commit
// (one Kafka transaction per batch). Poison records go to `<topic>.dlq` with the reason and
// processing goes on; retriable failures are retried with backoff a bounded number of times,
// then the batch aborts and is consumed again, so nothing is dropped while a dependency is down.
import type { Logger } from 'pino';
import type { EventType, SolvermeshEvent } from '../../schemas/generated/events';
import type { EventCodec } from './codec';
import { deadLetter } from './dead-letter';
import { errorCode, errorMessage, isRetriable, poison, RecordRefused } from './errors';
import { eventTimeSkew, type EventTimeBound } from './event-time';
import { keyOfTopic, misKeyed, type KeyOf } from './record-key';
import type { BatchContext, ConsumerTuning, InRecord, KafkaEngine, OutRecord, PartitionBatch, PartitionProgress, TransactionalConsumer } from './kafka/types';
import type { RuntimeMetrics } from './metrics';
import type { LagReporter } from './structural';
import { decimal, type Emit, type EventValidator, type Processor, type RecordContext } from './processor';

/** What the runner uses of the codec (a test drives it with a stand-in, no registry). */
export type RunnerCodec = Pick<EventCodec, 'decode' | 'decodeKnown' | 'encode' | 'encodeKnown'>;

export interface RunnerOptions {
  readonly processor: Processor;
  readonly engine: KafkaEngine;
  readonly codec: RunnerCodec;
  readonly metrics: RuntimeMetrics;
  readonly logger: Logger;
  readonly groupId: string;
  readonly topicPrefix: string;
  readonly maxRetries: number;
  readonly retryBackoffMs: number;
  readonly stallTimeoutMs: number;
  readonly fromBeginning?: boolean;
  readonly maxBatchRecords?: number;
  readonly consumerTuning?: ConsumerTuning;
  /** Decode-time validation; a non-empty list sends the record to the DLQ with the reasons. */
  readonly validate?: EventValidator;
  /** Records whose event time is further from their timestamp go to the DLQ (event-time.ts). */
  readonly eventTime?: EventTimeBound;
  /** A record whose value is larger is dead-lettered (OVERSIZED) without being decoded. */
  readonly maxRecordBytes?: number;
  /** Injected clock (ms) for health timing. */
  readonly now?: () => number;
  /** Told each committed partition's lag (a structural event when it is far behind: structural.ts). */
  readonly lag?: LagReporter;
}

export type RunnerState = 'idle' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface RunnerHealth {
  readonly status: 'ok' | 'unhealthy';
  readonly state: RunnerState;
  readonly reason?: string;
  readonly lastProgressAgoMs: number | null;
  readonly partitions: PartitionProgress[];
}

const NONE: readonly never[] = [];
/** The longest wait between two attempts of a partition hook. */
const HOOK_RETRY_MAX_MS = 5000;
/** Per-record timing is sampled: a histogram observation per record cost more than decoding. */
const RECORD_TIMING_SAMPLE = 64;

export class ProcessorRunner {
  private sampled = 0;
  private consumer: TransactionalConsumer | undefined;
  private state: RunnerState = 'idle';
  private lastProgressAt: number;
  private failure: string | undefined;
  private hooks: Promise<void> = Promise.resolve();
  private punctuator: NodeJS.Timeout | undefined;
  /** A batch is being handled or flushed; a punctuation due meanwhile waits for its end. */
  private batching = false;
  private punctuationDue = false;
  private punctuationQueued = false;
  private readonly now: () => number;
  private readonly log: Logger;
  /** The processor's `accepts`: its handle() is given no other type. */
  private readonly accepted: ReadonlySet<EventType>;
  /** Per logical input topic, the key its records must carry (record-key.ts). */
  private readonly keyChecks: ReadonlyMap<string, KeyOf | undefined>;

  constructor(private readonly opts: RunnerOptions) {
    this.accepted = new Set(opts.processor.accepts);
    this.keyChecks = new Map(opts.processor.inputs.map((t) => [t, keyOfTopic(t)]));
    this.now = opts.now ?? Date.now;
    this.lastProgressAt = this.now();
    this.log = opts.logger.child({ component: 'runner', processor: opts.processor.name });
  }

  private physical(topic: string): string {
    return this.opts.topicPrefix + topic;
  }

  private logical(topic: string): string {
    const p = this.opts.topicPrefix;
    return p && topic.startsWith(p) ? topic.slice(p.length) : topic;
  }

  async start(): Promise<void> {
    const { processor, engine } = this.opts;
    this.consumer = engine.transactionalConsumer(
      {
        groupId: this.opts.groupId,
        topics: processor.inputs.map((t) => this.physical(t)),
        fromBeginning: this.opts.fromBeginning ?? true,
        maxBatchRecords: this.opts.maxBatchRecords ?? 500,
        ...(this.opts.consumerTuning ? { tuning: this.opts.consumerTuning } : {}),
      },
      {
        onCommitted: (batch, produced) => this.onCommitted(batch, produced),
        onAborted: () => {
          this.opts.metrics.transactions.inc({ result: 'aborted' });
          const abort = this.opts.processor.onAbort;
          if (abort) this.hooks = this.hooks.then(() => abort.call(this.opts.processor)).catch((err: unknown) => this.log.error({ err }, 'onAbort failed'));
        },
        onAssigned: (list) => this.notify('onAssigned', list),
        onRevoked: (list) => {
          this.opts.lag?.revoked(list.map((p) => ({ topic: this.logical(p.topic), partition: p.partition })));
          this.notify('onRevoked', list);
        },
        onError: (err) => this.log.error({ err }, 'consumer crashed; the client restarts it'),
      },
    );
    this.state = 'running';
    const every = processor.punctuation?.everyMs ?? 0;
    if (every > 0) (this.punctuator = setInterval(() => this.punctuate(), every)).unref();
    await this.consumer.start((batch, ctx) => this.processBatch(batch, ctx));
    this.log.info({ inputs: processor.inputs, group: this.opts.groupId, engine: engine.kind }, 'runner started');
  }

  async stop(): Promise<void> {
    if (!this.consumer || this.state === 'stopped') return;
    this.state = 'stopping';
    clearInterval(this.punctuator);
    await this.consumer.stop();
    await this.opts.processor.close?.();
    this.state = 'stopped';
    this.log.info('runner stopped: in-flight batch committed, group left');
  }

  health(): RunnerHealth {
    return assessHealth(this.state, this.consumer?.progress() ?? [], this.now() - this.lastProgressAt, this.opts.stallTimeoutMs, this.failure);
  }

  private notify(hook: 'onAssigned' | 'onRevoked', list: Array<{ topic: string; partition: number }>): void {
    const fn = this.opts.processor[hook];
    if (!fn) return;
    const logical = list.map((p) => ({ topic: this.logical(p.topic), partition: p.partition }));
    // Batches wait for this chain, so no record is handled before its partition's state is back.
    this.hooks = this.hooks
      .then(() => this.hookUntilDone(hook, () => fn.call(this.opts.processor, logical)))
      .catch((err: unknown) => this.log.error({ err, hook }, 'partition hook failed'));
  }

  /**
   * A partition hook, again after a retriable failure (the broker, Redis, a schema id the registry
   * does not answer for yet) until it succeeds or the runner stops: given up at once, the batches
   * behind it were handled on state never restored (an impedance restarted beside a made-up
   * schema id on mesh.coordination folded its heartbeats into empty agents).
   */
  private async hookUntilDone(hook: string, fn: () => Promise<void> | void): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!isRetriable(err) || this.state === 'stopping' || this.state === 'stopped') throw err;
        const delay = Math.min(this.opts.retryBackoffMs * 2 ** (attempt - 1), HOOK_RETRY_MAX_MS);
        this.log.warn({ hook, attempt, delay, code: errorCode(err), err: errorMessage(err) }, 'partition hook failed; trying again');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /**
   * Queues the processor's punctuation on the hook chain, which batches wait for; during a batch
   * it is only marked due and queued when the batch ends (Processor.punctuation says why).
   */
  private punctuate(): void {
    const punctuation = this.opts.processor.punctuation;
    if (!punctuation || this.punctuationQueued) return;
    if (this.batching) { this.punctuationDue = true; return; }
    this.punctuationQueued = true;
    this.hooks = this.hooks
      .then(() => {
        this.punctuationQueued = false;
        // Queued behind a hook while stop() began: the processor may be closing.
        return this.state === 'running' ? punctuation.punctuate(this.now()) : undefined;
      })
      .catch((err: unknown) => this.log.error({ err }, 'punctuation failed'));
  }

  /** Until the hook chain is idle: what was queued on it while waiting runs before the batch too. */
  private async hooksIdle(): Promise<void> {
    for (let h = this.hooks; ; h = this.hooks) {
      await h;
      if (h === this.hooks) return;
    }
  }

  private onCommitted(batch: PartitionBatch, produced: number): void {
    const { metrics } = this.opts;
    this.lastProgressAt = this.now();
    metrics.transactions.inc({ result: 'committed' });
    metrics.recordsIn.inc({ topic: this.logical(batch.topic) }, batch.records.length);
    const p = this.consumer?.progress().find((x) => x.topic === batch.topic && x.partition === batch.partition);
    if (p) {
      metrics.lag.set({ topic: this.logical(batch.topic), partition: String(batch.partition) }, p.lag);
      this.opts.lag?.committed({ ...p, topic: this.logical(p.topic) });
    }
    void produced;
    const last = batch.records[batch.records.length - 1];
    if (last) this.opts.processor.onCommitted?.({ topic: this.logical(batch.topic), partition: batch.partition, lastOffset: last.offset, ...(p ? { lag: p.lag } : {}) });
  }

  /** Exposed for tests that drive a batch without a broker. */
  async processBatch(batch: PartitionBatch, ctx: BatchContext): Promise<OutRecord[]> {
    const { metrics } = this.opts;
    const topic = this.logical(batch.topic);
    const endBatch = metrics.batchSeconds.startTimer({ topic });
    const out: OutRecord[] = [];
    await this.hooksIdle();
    this.batching = true;
    try {
      let sinceBeat = Date.now();
      const records = batch.records;
      for (let i = 0; i < records.length; i++) {
        // Most records are handled without a promise (a known schema, a synchronous handler):
        // awaiting each one cost more than decoding it.
        const r = this.processRecord(records[i]!, topic);
        const produced = isPromise(r) ? await r : r;
        for (let j = 0; j < produced.length; j++) out.push(produced[j]!);
        if ((i & 0xff) === 0xff && Date.now() - sinceBeat > 1000) { await ctx.heartbeat(); sinceBeat = Date.now(); }
      }
      const flush = this.opts.processor.flush;
      if (flush) for (const o of await this.encode(await this.withRetries(() => flush.call(this.opts.processor)))) out.push(o);
    } catch (err) {
      metrics.transactions.inc({ result: 'aborted' });
      await this.opts.processor.onAbort?.();
      throw err;
    } finally {
      endBatch();
      this.batching = false;
      if (this.punctuationDue) { this.punctuationDue = false; this.punctuate(); }
    }
    countByTopic(out, (t, n) => metrics.recordsOut.inc({ topic: this.logical(t) }, n));
    return out;
  }

  /** A record's outputs, or its dead letter; a retriable failure that outlived its retries throws. */
  private processRecord(record: InRecord, topic: string): readonly OutRecord[] | Promise<readonly OutRecord[]> {
    this.sampled = (this.sampled + 1) % RECORD_TIMING_SAMPLE;
    const end = this.sampled === 0 ? this.opts.metrics.recordSeconds.startTimer({ topic }) : undefined;
    let emits: readonly Emit[] | Promise<readonly Emit[]>;
    try {
      const max = this.opts.maxRecordBytes;
      if (max !== undefined && record.value !== null && record.value.length > max) throw poison('OVERSIZED', `record of ${record.value.length} bytes is over the ${max}-byte limit (MAX_RECORD_BYTES): not decoded`);
      emits = this.attempt(record, topic);
    } catch (err) {
      end?.();
      return isRetriable(err) ? this.retryRecord(record, topic, err) : this.deadLetters(record, topic, err);
    }
    if (isPromise(emits)) {
      return emits.then(
        (e) => this.encodeRecord(record, topic, e),
        (err: unknown) => (isRetriable(err) ? this.retryRecord(record, topic, err) : this.deadLetters(record, topic, err)),
      ).finally(() => end?.());
    }
    end?.();
    return this.encodeRecord(record, topic, emits);
  }

  /** Decode, validate, handle: once, synchronously when the schema is known and the handler is. */
  private attempt(record: InRecord, topic: string): readonly Emit[] | Promise<readonly Emit[]> {
    const known = this.opts.codec.decodeKnown(record.value);
    if (known) return this.handleEvent(known.event, record, topic);
    return this.opts.codec.decode(record.value, { topic: this.physical(topic), producedAtMs: Number(record.timestamp) }).then(({ event }) => this.handleEvent(event, record, topic));
  }

  private handleEvent(event: SolvermeshEvent, record: InRecord, topic: string): readonly Emit[] | Promise<readonly Emit[]> {
    if (!this.accepted.has(event.type)) return NONE;
    const issues = this.opts.validate?.(event) ?? NONE;
    if (issues.length > 0) throw poison('VALIDATION_FAILED', `${event.type} is invalid: ${issues.join('; ')}`);
    const misKey = misKeyed(this.keyChecks.get(topic), record.key, event);
    if (misKey !== undefined) throw poison('MIS_KEYED', misKey);
    const skew = this.opts.eventTime && eventTimeSkew(event, decimal(record.timestamp), this.opts.eventTime);
    if (skew) throw poison('EVENT_TIME_SKEW', skew);
    return this.opts.processor.handle(event, this.context(record, topic));
  }

  /** Attempts after a retriable failure of the first, with backoff. */
  private async retryRecord(record: InRecord, topic: string, first: unknown): Promise<readonly OutRecord[]> {
    let emits: readonly Emit[];
    try {
      emits = await this.withRetries(() => this.attempt(record, topic), first);
    } catch (err) {
      if (isRetriable(err)) throw err;
      return this.deadLetters(record, topic, err);
    }
    return this.encodeRecord(record, topic, emits);
  }

  /** The record's outputs encoded; without a promise when every schema id is known already. */
  private encodeRecord(record: InRecord, topic: string, emits: readonly Emit[]): readonly OutRecord[] | Promise<readonly OutRecord[]> {
    if (emits.length === 0) return NONE;
    const failed = (err: unknown): readonly OutRecord[] => {
      if (isRetriable(err)) throw err;
      return [this.deadLettered(record, topic, err)];
    };
    try {
      const out: OutRecord[] = [];
      for (const e of emits) {
        const physical = this.physical(e.topic);
        const value = this.opts.codec.encodeKnown(physical, e.event);
        if (value === undefined) return this.encode(emits).catch(failed);
        out.push({ topic: physical, key: e.key, value });
      }
      return out;
    } catch (err) {
      return failed(err);
    }
  }

  /** The dead letter, and the report of a record refused on purpose (RecordRefused) beside it. */
  private deadLetters(record: InRecord, topic: string, err: unknown): readonly OutRecord[] | Promise<readonly OutRecord[]> {
    const dlq = this.deadLettered(record, topic, err);
    if (!(err instanceof RecordRefused) || err.emits.length === 0) return [dlq];
    const out: OutRecord[] = [dlq];
    for (const e of err.emits) {
      const physical = this.physical(e.topic);
      const value = this.opts.codec.encodeKnown(physical, e.event);
      if (value === undefined) return this.encode(err.emits).then((rest) => [dlq, ...rest]);
      out.push({ topic: physical, key: e.key, value });
    }
    return out;
  }

  private deadLettered(record: InRecord, topic: string, err: unknown): OutRecord {
    this.opts.metrics.deadLettered.inc({ topic, error_class: errorCode(err) });
    this.log.warn({ topic, partition: record.partition, offset: record.offset, code: errorCode(err), err: errorMessage(err) }, 'record dead-lettered');
    return deadLetter(record, err, this.opts.processor.name);
  }

  private context(record: InRecord, topic: string): RecordContext {
    return new LazyContext(record, topic);
  }

  private async encode(emits: readonly Emit[]): Promise<OutRecord[]> {
    const out: OutRecord[] = [];
    for (const e of emits) {
      const topic = this.physical(e.topic);
      out.push({ topic, key: e.key, value: this.opts.codec.encodeKnown(topic, e.event) ?? await this.opts.codec.encode(topic, e.event) });
    }
    return out;
  }

  /** fn until it succeeds or fails for good; `first` is a failure of an attempt made already. */
  private async withRetries<T>(fn: () => Promise<T> | T, ...first: [unknown?]): Promise<T> {
    let attempt = 0;
    let failed = first.length > 0;
    let error: unknown = first[0];
    for (;;) {
      if (!failed) {
        try {
          return await fn();
        } catch (err) {
          error = err;
        }
      }
      failed = false;
      if (!isRetriable(error) || attempt >= this.opts.maxRetries) throw error;
      attempt += 1;
      this.opts.metrics.retries.inc({ error_class: errorCode(error) });
      const delay = backoffMs(this.opts.retryBackoffMs, attempt);
      this.log.warn({ attempt, delay, code: errorCode(error), err: errorMessage(error) }, 'retriable failure, backing off');
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** Longest wait between two attempts: past it the doubling stops (MAX_RETRIES allows 100 attempts, and 200 ms doubled 24 times is beyond what setTimeout can wait). */
export const MAX_BACKOFF_MS = 30_000;

/** The wait before retry `attempt` (1, 2, ...): `initialMs` doubled per attempt, at most MAX_BACKOFF_MS (or `initialMs` when that is longer). */
export function backoffMs(initialMs: number, attempt: number): number {
  return Math.min(initialMs * 2 ** Math.max(0, attempt - 1), Math.max(initialMs, MAX_BACKOFF_MS));
}

/** The key is decoded only if the handler reads it: most do not, and it was a string per record. */
class LazyContext implements RecordContext {
  readonly partition: number;
  readonly offset: string;
  readonly timestampMs: number;
  readonly #record: InRecord;
  constructor(record: InRecord, readonly topic: string) {
    this.#record = record;
    this.partition = record.partition;
    this.offset = record.offset;
    this.timestampMs = decimal(record.timestamp);
  }
  get key(): string | null {
    const k = this.#record.key;
    return k ? k.toString('utf8') : null;
  }
  get value(): Buffer | null {
    return this.#record.value ?? null;
  }
}

function isPromise<T>(x: T | Promise<T>): x is Promise<T> {
  return typeof (x as { then?: unknown } | null)?.then === 'function';
}

function countByTopic(records: readonly OutRecord[], add: (topic: string, n: number) => void): void {
  if (records.length === 0) return;
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.topic, (counts.get(r.topic) ?? 0) + 1);
  for (const [t, n] of counts) add(t, n);
}

/**
 * A consumer that has lag but has not committed for longer than the stall timeout is wedged
 * (a stuck handler, a lost session) and must say so, not sit green.
 */
export function assessHealth(state: RunnerState, partitions: PartitionProgress[], sinceProgressMs: number, stallTimeoutMs: number, failure?: string): RunnerHealth {
  const lagging = partitions.filter((p) => p.lag > 0);
  let reason: string | undefined;
  if (state === 'failed') reason = failure ?? 'failed';
  else if (state !== 'running') reason = `runner is ${state}`;
  else if (lagging.length > 0 && sinceProgressMs > stallTimeoutMs) {
    const named = lagging.slice(0, 5).map((p) => `${p.topic}[${p.partition}] at offset ${p.position}, lag ${p.lag}`).join('; ');
    reason = `no progress for ${sinceProgressMs} ms while lag exists: ${named}${lagging.length > 5 ? `; and ${lagging.length - 5} more` : ''}`;
  }
  return { status: reason ? 'unhealthy' : 'ok', state, ...(reason ? { reason } : {}), lastProgressAgoMs: sinceProgressMs, partitions };
}
