import { createEngine } from '../runtime/engine';
import type { ServiceDefinition } from '../runtime/service';
import { conflictProcessor } from './conflict-processor';

// The coordinator's conflict stage (seed 002 §5.1). Quorum, breakers and modes join it later.
export const coordinatorService: ServiceDefinition = {
  name: 'coordinator',
  processor: (config, logger, ctx) => conflictProcessor({
    logger, brokers: config.kafkaBrokers, codec: ctx.codec, topicPrefix: config.topicPrefix, groupId: ctx.groupId, validate: ctx.validate,
    producer: () => createEngine(config, logger).producer(),
  }),
  // A batch is what has arrived: node-rdkafka's consume(n) otherwise keeps waiting for more
  // while reports trickle in, and holds the decisions (and a restarted coordinator's first ones).
  consumerTuning: { returnAvailable: true },
};
