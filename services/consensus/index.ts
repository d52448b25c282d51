// The consensus service (seed 000 §3.5): votes of the verifier groups in, ConsensusReached /
// ConsensusNotReached / VerifierFaultReported out, per (session, iteration).
import { EventCodec } from '../runtime/codec';
import { createEngine } from '../runtime/engine';
import type { ServiceDefinition } from '../runtime/service';
import { schemaValidator } from '../runtime/validation';
import { CONSENSUS_KNOBS } from './config';
import { consensusProcessor } from './processor';

export const consensusService: ServiceDefinition<typeof CONSENSUS_KNOBS> = {
  name: 'consensus',
  knobs: CONSENSUS_KNOBS,
  processor: (config, logger) => consensusProcessor({
    logger, groups: config.verifierGroups, windowMs: config.consensusWindowMs, brokers: config.kafkaBrokers,
    codec: new EventCodec(config.schemaRegistryUrl), topicPrefix: config.topicPrefix, groupId: `${config.topicPrefix}solvermesh.consensus`,
    producer: () => createEngine(config, logger).producer(), validate: schemaValidator(),
  }),
};
