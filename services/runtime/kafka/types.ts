// The client-neutral face of Kafka that services and the runner use. Two engines implement it
// (kafkajs and node-rdkafka); nothing above this file imports either library.

export type Headers = Record<string, string | Buffer>;

export interface InRecord {
  readonly topic: string;
  readonly partition: number;
  /** Offsets stay strings: they are int64 on the wire. */
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Headers;
  /** Record timestamp, ms since epoch, as a string (int64). */
  readonly timestamp: string;
}

export interface OutRecord {
  readonly topic: string;
  readonly key: Buffer | string | null;
  readonly value: Buffer;
  readonly headers?: Headers;
}

export interface PartitionBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly InRecord[];
  /** Offset after the last record in the partition when the batch was fetched (for lag). */
  readonly highWatermark: string;
}

export interface BatchContext {
  /** Keeps group membership alive during long processing. Cheap to call often. */
  heartbeat(): Promise<void>;
}

/** Returns the records to produce for this batch; they commit atomically with its offsets. */
export type BatchProcessor = (batch: PartitionBatch, ctx: BatchContext) => Promise<OutRecord[]>;

export interface ConsumeOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a group with no committed offset starts. */
  readonly fromBeginning: boolean;
  /** Upper bound on records handed to one BatchProcessor call. */
  readonly maxBatchRecords?: number;
  /** Latency knobs; what is unset keeps the engine's defaults. */
  readonly tuning?: ConsumerTuning;
}

/** Settings a latency-sensitive service passes to its engine (node-rdkafka honours them; kafkajs ignores them). */
export interface ConsumerTuning {
  /** How long one poll waits for a first record (ms; engine default 100). */
  readonly pollTimeoutMs?: number;
  /**
   * After a first record, take only what is already fetched (up to maxBatchRecords) instead of
   * waiting up to the poll timeout for each further record to fill the batch: at 100 records/s
   * node-rdkafka's consume(n) otherwise holds a batch ~30 ms (default false).
   */
  readonly returnAvailable?: boolean;
  /**
   * Transactional producer's retry backoff (ms; librdkafka default 100): the request after a
   * commit meets CONCURRENT_TRANSACTIONS until the markers are written, and waits this long.
   */
  readonly retryBackoffMs?: number;
  /**
   * Consume and process the next batch while the previous batch's transaction commits (the
   * commit waits on the broker, ~3-10 ms here). A failed commit takes back the batch processed
   * behind it too (the processor's onAbort, both rewound). Only for processors whose onAbort
   * drops all uncommitted state and that use no onCommitted bookkeeping of their own (default false).
   */
  readonly overlapCommit?: boolean;
  /**
   * A batch that produced nothing begins no transaction: its offsets are committed with the next
   * batch that has outputs, or on their own at the next idle poll or after the poll timeout
   * (CommitPipeline's carry). Only for processors that rebuild a partition's state from the log
   * when it is assigned (its uncommitted records are then consumed and folded again) (default false).
   */
  readonly carryEmpty?: boolean;
}

export interface PartitionProgress {
  readonly topic: string;
  readonly partition: number;
  /** Next offset to consume (last processed + 1). */
  readonly position: string;
  readonly highWatermark: string;
  readonly lag: number;
}

export interface EngineEvents {
  onAssigned?(partitions: Array<{ topic: string; partition: number }>): void;
  onRevoked?(partitions: Array<{ topic: string; partition: number }>): void;
  onCommitted?(batch: PartitionBatch, produced: number): void;
  /** The transaction carrying these batches failed to commit; they will be consumed again. */
  onAborted?(batches: readonly PartitionBatch[], err: unknown): void;
  onError?(err: unknown): void;
}

/** Exactly-once consume-transform-produce: outputs and input offsets commit in one transaction. */
export interface TransactionalConsumer {
  start(process: BatchProcessor): Promise<void>;
  /** Lets the in-flight batch finish and commit, then leaves the group and closes. */
  stop(): Promise<void>;
  progress(): PartitionProgress[];
}

/** Where an acknowledged record landed. */
export interface RecordPosition {
  readonly partition: number;
  readonly offset: number;
}

export interface Producer {
  /** Idempotent, acks=all; resolves when every record is acknowledged, with each one's position, in order. */
  send(records: readonly OutRecord[]): Promise<RecordPosition[]>;
  close(): Promise<void>;
}

/** How soon a producer sends and reports: throughput (the defaults) or the latency of a caller waiting on each ack. */
export interface ProducerOptions {
  /** librdkafka linger.ms (default 5); kafkajs sends at once. */
  readonly lingerMs?: number;
  /** How often delivery reports are polled, ms (default 50); kafkajs resolves on the broker's answer. */
  readonly deliveryPollMs?: number;
}

export interface KafkaEngine {
  readonly kind: 'kafkajs' | 'rdkafka';
  transactionalConsumer(opts: ConsumeOptions, events?: EngineEvents): TransactionalConsumer;
  producer(opts?: ProducerOptions): Promise<Producer>;
}
