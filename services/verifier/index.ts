// The verifier service (seed 000 §5, DESIGN "Verifier, consensus"): one group per process,
// `solvermesh run verifier --group <g>`, each its own consumer group, copy of A and b, and seed.
import { wasmKernel } from '../../wasm';
import { randomBytes } from 'node:crypto';
import { signingKeyFromSeed } from '../identity/ed25519';
import { registerKeys } from '../identity/key-publisher';
import { MessageSigner } from '../identity/signer';
import type { EventCodec } from '../runtime/codec';
import type { RuntimeConfig } from '../runtime/config';
import type { Logger } from '../runtime/logger';
import { signedOutputs } from '../runtime/message-guard';
import type { Processor } from '../runtime/processor';
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
    const p = verifierProcessor({
      name: `verifier.${settings.group}`, logger,
      restore: (partition) => restoreVerifier(
        { brokers: config.kafkaBrokers, codec, topicPrefix: config.topicPrefix, groupId: ctx.groupId, validate },
        new VerifierCore(partition, limits, kernel, settings, () => performance.now()),
      ),
    });
    return config.meshSigning === 'required' ? signingVotes(p, config, codec, logger, settings.group) : p;
  },
};

/**
 * The group's votes signed (seed 000 §3.5, DESIGN "Votes are signed"): a key made at start, held
 * in this process only, its public half registered on mesh.agent-keys under the group's id
 * beside the keys of earlier runs (their votes stay verifiable on replay).
 */
async function signingVotes<T extends Parameters<typeof signedOutputs>[0]>(p: T, config: RuntimeConfig, codec: EventCodec, logger: Logger, group: string): Promise<Processor> {
  const key = signingKeyFromSeed(randomBytes(32));
  await registerKeys({ brokers: config.kafkaBrokers, codec, topicPrefix: config.topicPrefix, logger, producer: `verifier.${group}` }, [{ agentId: group, key }], Date.now() * 1000);
  const signer = new MessageSigner((type) => codec.eventSchema(type).type);
  logger.info({ group, keyId: key.keyId }, 'votes are signed');
  return signedOutputs(p, (e) => (e.type === 'VerifierVoteCast' ? signer.sign(e, key) : e));
}
