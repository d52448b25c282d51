// The impedance service (seed 002 §2.3, §3.1-3.2, §4): heartbeats into the Redis registry and
// the compacted mesh.impedance changelog, 5 s summaries, send schedules, prediction accuracy.
import { EventCodec } from '../runtime/codec';
import type { RuntimeConfig } from '../runtime/config';
import type { Logger } from '../runtime/logger';
import type { ProcessorContext } from '../runtime/processor';
import type { ServiceDefinition } from '../runtime/service';
import { readChangelog } from './changelog';
import { impedanceProcessor, TOPICS, type ImpedanceProcessor } from './processor';
import { connectRedis, RegistryStore } from './registry-store';

/** Redis key prefix of the registry: the topic prefix isolates tests and tenants here too. */
export const registryPrefix = (topicPrefix: string) => `${topicPrefix}mesh:`;

export function createImpedanceProcessor(config: RuntimeConfig, logger: Logger, ctx?: ProcessorContext): ImpedanceProcessor & { close(): Promise<void> } {
  const redis = connectRedis(config.redisUrl);
  redis.on('error', (err: Error) => logger.debug({ err: err.message }, 'redis connection error'));
  const store = new RegistryStore(redis, registryPrefix(config.topicPrefix));
  const codec = new EventCodec(config.schemaRegistryUrl);
  const processor = impedanceProcessor({
    store,
    logger,
    ...(ctx ? { registry: ctx.registry } : {}),
    restore: (partitions) => readChangelog({ brokers: config.kafkaBrokers, topic: config.topicPrefix + TOPICS.impedance, partitions, codec }),
  });
  return { ...processor, close: async () => { redis.disconnect(); } };
}

export const impedanceService: ServiceDefinition = {
  name: 'impedance',
  processor: (config, logger, ctx) => createImpedanceProcessor(config, logger, ctx),
  maxBatchRecords: 5000,
};
