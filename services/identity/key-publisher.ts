// Writes key events to mesh.agent-keys (keyed by agent id) for those who register keys: the
// simulator at start, the gateway's swarm/join, a verifier group at start. A registration keeps
// the agent's keys already on the topic (the book is read first), so messages they signed stay
// verifiable on replay.
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import type { SolvermeshEvent } from '../../schemas/generated/events';
import type { EventCodec } from '../runtime/codec';
import { kafkajsConfig } from '../runtime/credentials';
import type { Logger } from '../runtime/logger';
import type { SigningKey } from './ed25519';
import { keyRegistered } from './key-events';
import { KEYS_TOPIC, KeySource } from './key-source';
import type { KeyEvent } from './keys';

export interface KeyPublisherOptions {
  readonly brokers: readonly string[];
  readonly codec: EventCodec;
  readonly topicPrefix: string;
  readonly clientId?: string;
}

export async function publishKeyEvents(o: KeyPublisherOptions, events: readonly KeyEvent[]): Promise<void> {
  if (events.length === 0) return;
  const kafka = new Kafka(kafkajsConfig({ clientId: o.clientId ?? 'solvermesh-keys', brokers: [...o.brokers], logLevel: logLevel.NOTHING }));
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const topic = o.topicPrefix + KEYS_TOPIC;
    for (let i = 0; i < events.length; i += 2000) {
      const chunk = events.slice(i, i + 2000);
      const messages = await Promise.all(chunk.map(async (e) => ({ key: e.agent_id, value: await o.codec.encode(topic, e as SolvermeshEvent) })));
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Registers each agent's key (unless the book has it already) after reading the book; resolves once they are written. */
export async function registerKeys(o: KeyPublisherOptions & { readonly logger: Logger; readonly producer: string }, keys: ReadonlyArray<{ readonly agentId: string; readonly key: SigningKey }>, atUs: number): Promise<void> {
  const source = new KeySource({ brokers: o.brokers, codec: o.codec, topicPrefix: o.topicPrefix, logger: o.logger, pollMs: 0 });
  await source.start();
  const book = source.book();
  const todo = keys.filter(({ agentId, key }) => !book.get(agentId)?.some((k) => k.key_id === key.keyId));
  await publishKeyEvents(o, todo.map(({ agentId, key }) => keyRegistered(book, agentId, key, atUs, o.producer)));
}
