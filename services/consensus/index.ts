// The consensus service (seed 000 §3.5): votes of the verifier groups in, ConsensusReached /
// ConsensusNotReached / VerifierFaultReported out, per (session, iteration).
import { createEngine } from '../runtime/engine';
import { withMessageGuard } from '../runtime/message-guard';
import type { ServiceDefinition } from '../runtime/service';
import { CONSENSUS_KNOBS } from './config';
import { consensusProcessor } from './processor';

export const consensusService: ServiceDefinition<typeof CONSENSUS_KNOBS> = {
  name: 'consensus',
  knobs: CONSENSUS_KNOBS,
  // Votes are signed by their verifier group (seed 000 §3.5): a forged or replayed one never counts.
  processor: (config, logger, ctx) => withMessageGuard(consensusProcessor({
    logger, groups: config.verifierGroups, windowMs: config.consensusWindowMs, brokers: config.kafkaBrokers,
    codec: ctx.codec, topicPrefix: config.topicPrefix, groupId: ctx.groupId,
    producer: () => createEngine(config, logger).producer(), validate: ctx.validate,
  }), { config, codec: ctx.codec, logger, producer: 'consensus', groupId: ctx.groupId, verify: { 'solver.verifications': 'VerifierVoteCast' } }),
};
