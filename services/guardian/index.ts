// The guardian service (issue 19; seed 002 §6, seed 003, seed 004): agent state changes, mesh
// summaries and structural events in; circuit breaker changes, operational modes, partition
// freezes and structural witnesses out, decided by one fold of its sequenced log.
import { createEngine } from '../runtime/engine';
import type { ServiceDefinition } from '../runtime/service';
import { GUARDIAN_KNOBS } from './config';
import { SEED_POLICY } from './policy';
import { guardianProcessor } from './processor';

export const guardianService: ServiceDefinition<typeof GUARDIAN_KNOBS> = {
  name: 'guardian',
  knobs: GUARDIAN_KNOBS,
  processor: (config, logger, ctx) => guardianProcessor({
    logger, policy: SEED_POLICY, tickMs: config.guardianTickMs, brokers: config.kafkaBrokers,
    codec: ctx.codec, topicPrefix: config.topicPrefix, groupId: ctx.groupId,
    producer: () => createEngine(config, logger).producer(), validate: ctx.validate,
  }),
};
