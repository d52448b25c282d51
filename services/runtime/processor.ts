// What a service plugs into the runner: a pure-ish handler from one decoded event to the
// events it causes. The runner owns decoding, validation, retries, dead letters, transactions.
import type { Registry } from 'prom-client';
import type { EventOf, EventType, SolvermeshEvent } from '../../schemas/generated/events';
import type { EventCodec } from './codec';

export interface RecordContext {
  /** Logical topic name (without TOPIC_PREFIX). */
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** Broker/producer timestamp of the record, ms since epoch. */
  readonly timestampMs: number;
  readonly key: string | null;
  /** The record's bytes as written (a signature is checked against them); absent in hand-made contexts. */
  readonly value?: Buffer | null;
}

export interface Emit {
  /** Logical topic name. */
  readonly topic: string;
  readonly key: string;
  readonly event: SolvermeshEvent;
}

/**
 * `T`: the event types the processor takes. A `Processor<'A'>` stands where a `Processor` is
 * expected (handle is a method, so its parameter is compared both ways); the runner keeps that
 * sound by handing it only events whose type is in `accepts`.
 */
export interface Processor<T extends EventType = EventType> {
  readonly name: string;
  /** Logical input topic names. */
  readonly inputs: readonly string[];
  /** Event types this processor acts on, as data; other events on its inputs are passed over. */
  readonly accepts: readonly T[];
  /** Throws a poison error for a record that can never succeed, a transient one to retry. */
  handle(event: EventOf<T>, ctx: RecordContext): readonly Emit[] | Promise<readonly Emit[]>;
  /**
   * Called once per batch after every record was handled, before the transaction commits:
   * the place for batched side effects (a Redis pipeline) and the events they yield. A
   * retriable error is retried like handle(); the batch aborts when retries run out.
   */
  flush?(): readonly Emit[] | Promise<readonly Emit[]>;
  /**
   * Called when a batch does not commit (handling failed, or its transaction did), so in-memory
   * state folded from it can be taken back; its records will be consumed again.
   */
  onAbort?(): void | Promise<void>;
  /**
   * Called after a batch's outputs and offsets committed. `lastOffset` is its last record; `lag`,
   * the records behind the partition's high watermark the consumer knew then (absent: unknown).
   */
  onCommitted?(batch: { topic: string; partition: number; lastOffset: string; lag?: number }): void;
  /** Partitions (logical topic names) this instance now owns; restore their state here. */
  onAssigned?(partitions: ReadonlyArray<{ topic: string; partition: number }>): void | Promise<void>;
  /** Partitions this instance no longer owns; drop their state. */
  onRevoked?(partitions: ReadonlyArray<{ topic: string; partition: number }>): void | Promise<void>;
  /** Releases the processor's own connections (Redis ...) after the runner stopped. */
  close?(): Promise<void>;
  /** Periodic work on the wall clock, called by the runner (see Punctuation). */
  readonly punctuation?: Punctuation;
}

/**
 * Wall-clock punctuation, as Kafka Streams' WALL_CLOCK_TIME punctuators: the runner owns the
 * timer and calls `punctuate` about every `everyMs`, never while a batch is handled or flushed
 * (a due call waits for the batch), nor beside onAssigned/onRevoked/onAbort. It may run while a
 * flushed batch's transaction commits, before its onCommitted: state of a flushed batch is not
 * committed yet. It returns nothing to produce: outside a batch there is no transaction, and a
 * decision that changes events belongs in event time (a tick record in the log), so punctuation
 * is for side effects that replay need not repeat, such as flushing a projection.
 */
export interface Punctuation {
  readonly everyMs: number;
  punctuate(nowMs: number): void | Promise<void>;
}

/**
 * Decode-time validation: the reasons a record is dead-lettered, empty when it is valid. Given
 * the record's timestamp, the service's validator also bounds the event time (event-time.ts).
 */
export type EventValidator = (event: SolvermeshEvent, timestampMs?: number) => string[];

/** What a service's processor factory gets besides config and logger. */
export interface ProcessorContext {
  /** The service's Prometheus registry: register processor metrics here, served on /metrics. */
  readonly registry: Registry;
  /** The runner's codec: reads of the service's own log (restore, replay) decode with it. */
  readonly codec: EventCodec;
  /** The runner's validation: a record it dead-letters is not folded by a restore either. */
  readonly validate: EventValidator;
  /** The runner's consumer group: a restore reads the offsets it committed. */
  readonly groupId: string;
}

/** A type guard from a list of event types, for reads of the log outside the runner. */
export function isOneOf<T extends EventType>(types: readonly T[]): (event: SolvermeshEvent | undefined) => event is EventOf<T> {
  const set = new Set<EventType>(types);
  return (event): event is EventOf<T> => event !== undefined && set.has(event.type);
}

/**
 * Number(s) for the decimal strings Kafka clients give offsets and timestamps as, without the
 * generic string-to-number conversion, which cost a tenth of a microsecond per record for a
 * timestamp. Digits only and at most 15 of them (exact in a double); anything else is Number()'s.
 */
export function decimal(s: string): number {
  const n = s.length;
  if (n === 0 || n > 15) return Number(s);
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number(s);
    v = v * 10 + d;
  }
  return v;
}
