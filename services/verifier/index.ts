// The verifier service (seed 000 §5, DESIGN "Verifier, consensus"): one group per process,
// `solvermesh run verifier --group <g>`, each its own consumer group, copy of A and b, and seed.
import { wasmKernel } from '../../wasm';
import type { RuntimeConfig } from '../runtime/config';
import type { ServiceDefinition } from '../runtime/service';
import { VERIFIER_KNOBS, replicaLimits, verifierSettings, type VerifierKnobs } from './config';
import { VerifierCore } from './core';
import { verifierProcessor } from './processor';
import { restoreVerifier } from './restore';

const verifierGroupId = (config: RuntimeConfig & VerifierKnobs) => `${config.topicPrefix}solvermesh.verifier.${config.verifierGroup}`;

export const verifierService: ServiceDefinition<typeof VERIFIER_KNOBS> = {
  name: 'verifier',
  knobs: VERIFIER_KNOBS,
  groupId: verifierGroupId,
  processor: (config, logger, ctx) => {
    const { codec, validate } = ctx;
    const kernel = wasmKernel();
    const settings = verifierSettings(config);
    const limits = replicaLimits(config);
    return verifierProcessor({
      name: `verifier.${settings.group}`, logger,
      restore: (partition) => restoreVerifier(
        { brokers: config.kafkaBrokers, codec, topicPrefix: config.topicPrefix, groupId: ctx.groupId, validate },
        new VerifierCore(partition, limits, kernel, settings, () => performance.now()),
      ),
    });
  },
};
