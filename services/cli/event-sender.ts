// Sends events from the CLI and the demo (solver input, coordination requests): Avro-encoded
// through the registry, on the engine's idempotent acks=all producer. Solver input is keyed by
// session_id and can be checked first as the solver validates it on decode (problemsOf), so a
// user hears about a bad value now, not from a dead-letter topic later.
import pino from 'pino';
import type { SolvermeshEvent } from '../../schemas/generated/events';
import { EventCodec } from '../runtime/codec';
import type { RuntimeConfig } from '../runtime/config';
import { createEngine } from '../runtime/engine';
import { errorMessage, poison } from '../runtime/errors';
import type { Producer, ProducerOptions, RecordPosition } from '../runtime/kafka/types';
import { schemaValidator } from '../runtime/validation';

/** An event keyed by its session. */
export type SolverInput = Extract<SolvermeshEvent, { readonly session_id: string }>;

const validate = schemaValidator();

/** The reasons the consuming service would dead-letter this event for, empty when it is valid. */
export function problemsOf(event: SolvermeshEvent): readonly string[] {
  return validate(event);
}

export class EventSender {
  /** The previous call's records handed to the producer (or failed to encode). */
  private handedOver: Promise<unknown> = Promise.resolve();

  private constructor(private readonly producer: Producer, private readonly codec: EventCodec, private readonly prefix: string, private readonly maxRecordBytes: number) {}

  static async connect(config: RuntimeConfig, options?: ProducerOptions): Promise<EventSender> {
    let producer: Producer;
    try {
      producer = await createEngine(config, pino({ level: 'silent' })).producer(options);
    } catch (err) {
      throw new Error(`cannot connect a producer to Kafka at ${config.kafkaBrokers.join(',')} (KAFKA_BROKERS): ${errorMessage(err)}; nothing was sent`);
    }
    return new EventSender(producer, new EventCodec(config.schemaRegistryUrl), config.topicPrefix, config.maxRecordBytes);
  }

  /** Resolves once every record is acknowledged, with each one's position; records of one session keep their order. */
  send(topic: string, events: readonly SolverInput[]): Promise<RecordPosition[]> {
    return this.sendKeyed(topic, events.map((e) => ({ key: e.session_id, event: e })));
  }

  /**
   * Events under keys of the caller's choosing (the topic's partitioning key, see topics/catalog).
   * Calls reach the producer in the order they were made, whatever their encoding takes, so a
   * caller that sends again before the previous acks keeps its records in order.
   */
  async sendKeyed(topic: string, items: ReadonlyArray<{ readonly key: string; readonly event: SolvermeshEvent }>): Promise<RecordPosition[]> {
    if (items.length === 0) return [];
    const physical = this.prefix + topic;
    const encoded = Promise.all(items.map(async (r) => ({ topic: physical, key: r.key, value: this.fits(r.event, await this.codec.encode(physical, r.event)) })));
    encoded.catch(() => undefined);
    const turn = this.handedOver.then(() => encoded);
    let handed!: () => void;
    this.handedOver = new Promise<void>((r) => (handed = r));
    try {
      const records = await turn;
      const acks = this.producer.send(records);
      handed();
      return await acks;
    } catch (err) {
      handed();
      throw err;
    }
  }

  /** Refuses a record the consuming service would dead-letter as OVERSIZED, before anything is sent. */
  private fits(event: SolvermeshEvent, value: Buffer): Buffer {
    if (value.length <= this.maxRecordBytes) return value;
    throw poison('OVERSIZED', `${event.type} encodes to ${value.length} bytes, over the ${this.maxRecordBytes}-byte record limit (MAX_RECORD_BYTES): split it into smaller pieces (matrix chunks, cost batches); nothing was sent`);
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}
