// Picks the Kafka client library behind the engine interface from KAFKA_CLIENT.
import type { Logger } from 'pino';
import type { RuntimeConfig } from './config';
import { createKafkajsEngine } from './kafka/kafkajs-engine';
import { createRdkafkaEngine } from './kafka/rdkafka-engine';
import type { KafkaEngine } from './kafka/types';

export function createEngine(config: RuntimeConfig, logger: Logger): KafkaEngine {
  const base = { brokers: config.kafkaBrokers, clientId: config.clientId, instanceId: config.instanceId, logger };
  if (config.kafkaClient === 'rdkafka') {
    // The native addon is loaded inside, only when asked for.
    return createRdkafkaEngine({ ...base, debug: config.kafkaDebug, sendOffsetsBoundMs: config.kafkaSendOffsetsBoundMs });
  }
  return createKafkajsEngine(base);
}
