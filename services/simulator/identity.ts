// The simulated agents' identities (seed 002 §9.1, §10 "generate agent identities"): an Ed25519
// key per agent, derived from its id so a replayed or restarted simulation signs with the same
// keys, held in this process only; the public keys are registered on mesh.agent-keys before the
// first message. With MESH_SIGNING=off nothing is signed or registered.
import type { EventCodec } from '../runtime/codec';
import type { RuntimeConfig } from '../runtime/config';
import { createLogger } from '../runtime/logger';
import { senderOf, type SignedEvent } from '../identity/canonical';
import { signingKeyFromSeed, type SigningKey } from '../identity/ed25519';
import { registerKeys } from '../identity/key-publisher';
import { MessageSigner } from '../identity/signer';

export const simulatedKey = (agentId: string): SigningKey => signingKeyFromSeed(`solvermesh-simulator:${agentId}`);

export interface AgentSigner {
  sign<E extends SignedEvent>(e: E): E;
}

const UNSIGNED: AgentSigner = { sign: (e) => e };

/** Registers the agents' keys and signs their messages; a no-op signer when signing is off. */
export async function meshIdentity(config: Pick<RuntimeConfig, 'meshSigning' | 'kafkaBrokers' | 'topicPrefix' | 'clientId'>, codec: EventCodec, agentIds: readonly string[]): Promise<AgentSigner> {
  if (config.meshSigning === 'off') return UNSIGNED;
  const keys = new Map(agentIds.map((id) => [id, simulatedKey(id)]));
  await registerKeys(
    { brokers: config.kafkaBrokers, codec, topicPrefix: config.topicPrefix, clientId: `${config.clientId}-sim-keys`, logger: createLogger('warn', 'simulator'), producer: 'simulator' },
    [...keys].map(([agentId, key]) => ({ agentId, key })), Date.now() * 1000,
  );
  const signer = new MessageSigner((type) => codec.eventSchema(type).type);
  return {
    sign(e) {
      const sender = senderOf(e);
      let key = keys.get(sender);
      if (!key) keys.set(sender, key = simulatedKey(sender));
      return signer.sign(e, key);
    },
  };
}
