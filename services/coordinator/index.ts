// The coordinator (seed 002 §3.2, §5): conflict intake, dispatch at send time, gather and
// trinary quorum, one processor per concern in one consumer group and one transaction per batch.
// Breakers, modes, cascades and the conflict lifecycle join it later.
import { createEngine } from '../runtime/engine';
import { combineProcessors } from '../runtime/combine';
import type { ServiceDefinition } from '../runtime/service';
import { TickWriter } from '../runtime/tick-writer';
import { conflictProcessor } from './conflict-processor';
import { COORDINATOR_KNOBS } from './config';
import { dispatchProcessor } from './dispatch-processor';
import { gatherProcessor } from './gather-processor';

export const coordinatorService: ServiceDefinition<typeof COORDINATOR_KNOBS> = {
  name: 'coordinator',
  knobs: COORDINATOR_KNOBS,
  processor: async (config, logger, ctx) => {
    const ticks = new TickWriter({ producer: () => createEngine(config, logger).producer(), codec: ctx.codec, topicPrefix: config.topicPrefix, logger: logger.child({ component: 'ticks' }) });
    await ticks.connect();
    const log = { brokers: config.kafkaBrokers, codec: ctx.codec, topicPrefix: config.topicPrefix, groupId: ctx.groupId, validate: ctx.validate, ticks };
    const combined = combineProcessors('coordinator', [
      conflictProcessor(),
      dispatchProcessor({ ...log, logger: logger.child({ component: 'dispatch' }) }),
      gatherProcessor({ ...log, logger: logger.child({ component: 'gather' }), graceMs: config.coordinatorGatherGraceMs }),
    ]);
    return { ...combined, async close() { await ticks.close(); await combined.close?.(); } };
  },
  // A batch is what has arrived: node-rdkafka's consume(n) otherwise keeps waiting for more
  // while records trickle in, and holds the decisions (and a restarted coordinator's first ones).
  consumerTuning: { returnAvailable: true },
};
