// The impedance service (seed 002 §2.3, §3.1-3.2, §4): heartbeats into the Redis registry and
// the compacted mesh.impedance changelog, 5 s summaries, send schedules, prediction accuracy.
import type { TopicName } from '../../topics/catalog';
import type { Logger } from '../runtime/logger';
import type { ProcessorContext } from '../runtime/processor';
import { withMessageGuard } from '../runtime/message-guard';
import type { ServiceConfig, ServiceDefinition } from '../runtime/service';
import { IMPEDANCE_KNOBS, impedanceTuning } from './config';
import { changelogBounds, committedOffsets, readAckTail, readChangelog, readHeartbeatTail } from './changelog';
import { entryRefusal } from './changelog-trust';
import { readGateState } from './freeze-restore';
import { readCopiedBefore } from './copied-before';
import { topicSpec } from '../../topics/catalog';
import { impedanceProcessor, type ImpedanceProcessor } from './processor';
import { connectRedis, RegistryStore } from './registry-store';
import { serviceStructuralEmitter } from '../runtime/structural';
import { createEngine } from '../runtime/engine';
import { TickWriter } from '../runtime/tick-writer';
import { summaryDueTimer } from './summary-due';

/** Redis key prefix of the registry: the topic prefix isolates tests and tenants here too. */
export const registryPrefix = (topicPrefix: string) => `${topicPrefix}mesh:`;

export function createImpedanceProcessor(config: ServiceConfig<typeof IMPEDANCE_KNOBS>, logger: Logger, ctx: ProcessorContext): ImpedanceProcessor {
  const redis = connectRedis(config.redisUrl);
  redis.on('error', (err: Error) => logger.debug({ err: err.message }, 'redis connection error'));
  const store = new RegistryStore(redis, registryPrefix(config.topicPrefix));
  const { codec, validate } = ctx;
  const topic = (name: TopicName) => config.topicPrefix + name;
  const structural = serviceStructuralEmitter(config, logger, codec, 'impedance');
  const summaryDue = summaryDueTimer(new TickWriter({ producer: () => createEngine(config, logger).producer(), codec, topicPrefix: config.topicPrefix, logger }), 0);
  const processor = impedanceProcessor({
    store,
    logger,
    registry: ctx.registry,
    restore: async (partitions) => {
      const bounds = await changelogBounds({ brokers: config.kafkaBrokers, groupId: ctx.groupId, heartbeats: topic('mesh.heartbeats'), acks: topic('mesh.agent-acks') }, partitions);
      return readChangelog({
        brokers: config.kafkaBrokers, topic: topic('mesh.impedance'), partitions, codec,
        refusal: (e, key, p) => entryRefusal(e, key, bounds.get(p)!, validate),
        onRefused: (partition, agent, why) => logger.warn({ partition, agent, why }, 'changelog entry refused: the agent restores from an older entry or its heartbeats'),
      });
    },
    committed: (partitions) => committedOffsets(config.kafkaBrokers, ctx.groupId, topic('mesh.heartbeats'), partitions),
    ...impedanceTuning(config),
    readTail: (partition, from, to) => readHeartbeatTail({ brokers: config.kafkaBrokers, topic: topic('mesh.heartbeats'), codec, validate }, partition, from, to),
    readAckTail: (partition, from, to) => readAckTail({ brokers: config.kafkaBrokers, topic: topic('mesh.agent-acks'), codec, validate }, partition, from, to),
    committedAcks: (partitions) => committedOffsets(config.kafkaBrokers, ctx.groupId, topic('mesh.agent-acks'), partitions),
    structural,
    summaryDue,
    restoreGate: (partition) => readGateState({ brokers: config.kafkaBrokers, topic: topic('mesh.coordination'), codec, validate, groupId: ctx.groupId }, partition),
    copiedBefore: readCopiedBefore({ brokers: config.kafkaBrokers, codec, groupId: ctx.groupId, topicPrefix: config.topicPrefix, agentAckPartitions: topicSpec('mesh.agent-acks').partitions }),
  });
  return { ...processor, close: async () => { await processor.close(); await summaryDue.close(); await structural.close(); redis.disconnect(); } };
}

export const impedanceService: ServiceDefinition<typeof IMPEDANCE_KNOBS> = {
  name: 'impedance',
  knobs: IMPEDANCE_KNOBS,
  // Heartbeats and acks are signed by their agents (services/runtime/message-guard.ts); an agent's
  // heartbeats beyond 10x its baseline rate are throttled. Refusals that only the agent's own key
  // could have signed are copied to mesh.agent-acks, where its fold counts them (ack-fold.ts Q3).
  processor: async (config, logger, ctx) => {
    const p = createImpedanceProcessor(config, logger, ctx);
    const g = await withMessageGuard(p, {
      config, codec: ctx.codec, logger, producer: 'impedance', abuse: true, ownKeyCopies: 'mesh.agent-acks', groupId: ctx.groupId,
      verify: { 'mesh.heartbeats': 'HeartbeatReceived', 'mesh.acks': 'AckReceived' },
    });
    return { ...p, ...g };
  },
  // Each batch is a transaction (tens of ms of round trips): IMPEDANCE_MAX_BATCH_RECORDS (config.ts).
  runnerTuning: (config) => ({ maxBatchRecords: config.impedanceMaxBatchRecords, consumerTuning: { returnAvailable: config.impedanceReturnAvailable === 1 } }),
};
