// The consensus service (seed 000 §3.5): votes of the verifier groups in, ConsensusReached /
// ConsensusNotReached / VerifierFaultReported out, per (session, iteration).
import { createEngine } from '../runtime/engine';
import type { ServiceDefinition } from '../runtime/service';
import { CONSENSUS_KNOBS } from './config';
import { consensusProcessor } from './processor';

export const consensusService: ServiceDefinition<typeof CONSENSUS_KNOBS> = {
  name: 'consensus',
  knobs: CONSENSUS_KNOBS,
  processor: (config, logger, ctx) => consensusProcessor({
    logger, groups: config.verifierGroups, windowMs: config.consensusWindowMs, brokers: config.kafkaBrokers,
    codec: ctx.codec, topicPrefix: config.topicPrefix, groupId: ctx.groupId,
    producer: () => createEngine(config, logger).producer(), validate: ctx.validate,
  }),
};
