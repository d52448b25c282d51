// Integration-test helpers: unique topics per test, a producer of raw or Avro records, and a
// collector that reads a topic (read_committed) until a condition holds. No fixed sleeps.
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, Partitioners, type Consumer, type Producer } from 'kafkajs';
import { kafkajsConfig } from '../../services/runtime/credentials';
import { allTopicSpecs } from '../../topics/catalog';
import { applyTopics, deletePrefixedTopics } from '../../topics/apply';
import type { SolvermeshEvent } from '../../schemas/generated/events';
import { EventCodec } from '../../services/runtime/codec';
import type { Headers } from '../../services/runtime/kafka/types';
import pino from 'pino';
import { createRdkafkaEngine } from '../../services/runtime/kafka/rdkafka-engine';
import type { Producer as EngineProducer } from '../../services/runtime/kafka/types';
import { ensureInfra } from './infra';
import { isSigned, senderOf } from '../../services/identity/canonical';
import { registerKeys } from '../../services/identity/key-publisher';
import { MessageSigner } from '../../services/identity/signer';
import { simulatedKey } from '../../services/simulator/identity';

export const uniquePrefix = (label: string) => `t-${label}-${Date.now().toString(36)}${randomBytes(3).toString('hex')}.`;

export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
}

export class TestKafka {
  readonly kafka: Kafka;
  readonly codec: EventCodec;
  private producer: Producer | undefined;
  private engineProducer: EngineProducer | undefined;
  private readonly consumers: Consumer[] = [];

  private constructor(readonly brokers: string[], registryUrl: string, readonly prefix: string, private readonly producerKind: 'kafkajs' | 'rdkafka' = 'kafkajs') {
    this.kafka = new Kafka(kafkajsConfig({ clientId: 'solvermesh-test', brokers, logLevel: logLevel.NOTHING }));
    this.codec = new EventCodec(registryUrl);
  }

  /** Creates every declared topic (and its .dlq) under a fresh prefix. */
  /**
   * `producer: 'rdkafka'` sends through the node-rdkafka engine: kafkajs can lose acknowledged
   * records when a broker dies (tulios/kafkajs#1303), so failure specs must not use it.
   */
  static async create(label: string, opts: { brokers?: string; producer?: 'kafkajs' | 'rdkafka' } = {}): Promise<TestKafka> {
    const env = await ensureInfra();
    const brokers = (opts.brokers ?? env.KAFKA_BROKERS).split(',');
    const t = new TestKafka(brokers, env.SCHEMA_REGISTRY_URL, uniquePrefix(label), opts.producer);
    await applyTopics(brokers, allTopicSpecs(t.prefix));
    return t;
  }

  topic(name: string): string {
    return this.prefix + name;
  }

  private async getProducer(): Promise<Producer> {
    if (!this.producer) {
      this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
      await this.producer.connect();
    }
    return this.producer;
  }

  async sendRaw(topic: string, records: Array<{ key: string | null; value: Buffer | null; headers?: Headers }>): Promise<void> {
    if (this.producerKind === 'rdkafka') {
      this.engineProducer ??= await createRdkafkaEngine({ brokers: this.brokers, clientId: 'solvermesh-test', instanceId: 'test', logger: pino({ level: 'silent' }) }).producer();
      await this.engineProducer.send(records.map((r) => ({ topic: this.topic(topic), key: r.key, value: r.value ?? Buffer.alloc(0), ...(r.headers ? { headers: r.headers } : {}) })));
      return;
    }
    await (await this.getProducer()).send({ topic: this.topic(topic), acks: -1, messages: records });
  }

  /**
   * Heartbeats, acks and votes are signed as their senders would (the simulator's keys,
   * registered on mesh.agent-keys first), unless signing is off or `unsigned` says to send them
   * as given (an attack spec's forgeries).
   */
  async sendEvents(topic: string, events: ReadonlyArray<{ key: string; event: SolvermeshEvent }>, opts: { unsigned?: boolean } = {}): Promise<void> {
    const physical = this.topic(topic);
    const signing = !opts.unsigned && process.env.MESH_SIGNING !== 'off';
    if (signing) await this.registerSenders(events.map((e) => e.event));
    const messages = await Promise.all(events.map(async (e) => {
      const event = signing && isSigned(e.event) ? this.signer.sign(e.event, simulatedKey(senderOf(e.event))) : e.event;
      return { key: e.key, value: await this.codec.encode(physical, event) };
    }));
    await this.sendRaw(topic, messages);
  }

  /** One signer per spec, so each sender's sequence keeps rising across sends. */
  readonly signer = new MessageSigner((type) => this.codec.eventSchema(type).type);
  private readonly registered = new Set<string>();

  /** Registers the simulator's key of every sender of `events` not registered yet by this spec. */
  async registerSenders(events: readonly SolvermeshEvent[]): Promise<void> {
    const todo = [...new Set(events.filter(isSigned).map(senderOf))].filter((s) => !this.registered.has(s));
    if (todo.length === 0) return;
    await registerKeys({ brokers: this.brokers, codec: this.codec, topicPrefix: this.prefix, logger: pino({ level: 'silent' }), producer: 'spec' }, todo.map((agentId) => ({ agentId, key: simulatedKey(agentId) })), Date.now() * 1000);
    for (const s of todo) this.registered.add(s);
  }

  /** Reads `topic` from the beginning (committed records only) until `done` says enough. */
  async collect(topic: string, done: (records: ConsumedRecord[]) => boolean, timeoutMs = 30_000): Promise<ConsumedRecord[]> {
    const records: ConsumedRecord[] = [];
    await this.readUntil(topic, async (r) => { records.push(r); return done(records); }, () => done(records), timeoutMs, () => `${records.length} records`);
    return records;
  }

  /** collect() judged on the decoded events (a count of one event type, say), which it returns. */
  async collectEvents(topic: string, done: (events: readonly SolvermeshEvent[]) => boolean, timeoutMs = 30_000): Promise<SolvermeshEvent[]> {
    const events: SolvermeshEvent[] = [];
    await this.readUntil(topic, async (r) => { events.push((await this.codec.decode(r.value)).event); return done(events); }, () => done(events), timeoutMs, () => `${events.length} events`);
    return events;
  }

  /** Reads `topic` from the beginning (read_committed) until `onRecord` says done, or throws at the timeout. */
  private async readUntil(topic: string, onRecord: (r: ConsumedRecord) => Promise<boolean>, doneAlready: () => boolean, timeoutMs: number, got: () => string): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: `${this.prefix}collector-${randomBytes(4).toString('hex')}`, readUncommitted: false });
    this.consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic(topic), fromBeginning: true });
    let resolveDone!: () => void;
    const finished = new Promise<void>((r) => (resolveDone = r));
    await consumer.run({
      eachMessage: async ({ topic: t, partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(Array.isArray(v) ? v[0] : v);
        if (await onRecord({ topic: t, partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value, headers })) resolveDone();
      },
    });
    if (doneAlready()) resolveDone();
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs));
    const outcome = await Promise.race([finished.then(() => 'done' as const), timer]);
    await consumer.disconnect();
    if (outcome === 'timeout') {
      throw new Error(`collect(${topic}) timed out after ${timeoutMs} ms with ${got()}`);
    }
  }

  async decodeAll(records: ConsumedRecord[]): Promise<SolvermeshEvent[]> {
    return Promise.all(records.map(async (r) => (await this.codec.decode(r.value)).event));
  }

  /**
   * Deletes this test's topics too: each spec creates every declared topic under its own
   * prefix, and thousands of leftover partitions exhausted a 512 MB broker heap in one session.
   */
  async close(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.disconnect().catch(() => undefined)));
    await this.producer?.disconnect();
    await this.engineProducer?.close();
    try {
      await deletePrefixedTopics(this.brokers, this.prefix);
    } catch {
      // a broker the spec killed or stopped: leftovers go with the next clean-data
    }
  }
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
