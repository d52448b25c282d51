// The coordinator (seed 002 §3.2, §5): conflict intake and dispatch at send time, one processor per concern in one consumer group and one transaction per batch.
// Breakers, modes, cascades and the conflict lifecycle join it later.
import { createEngine } from '../runtime/engine';
import { combineProcessors } from '../runtime/combine';
import type { ServiceDefinition } from '../runtime/service';
import { TickWriter } from '../runtime/tick-writer';
import { conflictProcessor } from './conflict-processor';
import { dispatchProcessor } from './dispatch-processor';

export const coordinatorService: ServiceDefinition = {
  name: 'coordinator',
  processor: (config, logger, ctx) => {
    const ticks = new TickWriter({ producer: () => createEngine(config, logger).producer(), codec: ctx.codec, topicPrefix: config.topicPrefix, logger: logger.child({ component: 'ticks' }) });
    const log = { brokers: config.kafkaBrokers, codec: ctx.codec, topicPrefix: config.topicPrefix, groupId: ctx.groupId, validate: ctx.validate, ticks };
    const combined = combineProcessors('coordinator', [
      conflictProcessor(),
      dispatchProcessor({ ...log, logger: logger.child({ component: 'dispatch' }) }),
    ]);
    return { ...combined, async close() { await ticks.close(); await combined.close?.(); } };
  },
  // A batch is what has arrived: node-rdkafka's consume(n) otherwise keeps waiting for more
  // while records trickle in, and holds the decisions (and a restarted coordinator's first ones).
  consumerTuning: { returnAvailable: true },
};
