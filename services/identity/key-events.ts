// Key events as facts of mesh.agent-keys (keys.ts), built from the agent's key set as the book
// holds it, so the record carries the whole set after the change. Pure: time and ids are inputs.
import type { AgentKeyRegistered, AgentKeyRevoked, AgentKeyRotated } from '../../schemas/generated/events';
import { derivedEventId } from '../runtime/ids';
import type { SigningKey } from './ed25519';
import { registeredKeys, revokedKeys, rotatedKeys, type KeyBook } from './keys';

const meta = (agentId: string, atUs: number, producer: string, what: string) => ({
  event_id: derivedEventId(`keys:${agentId}`, `${what}:${atUs}`), correlation_id: agentId, causation_id: null, occurred_at: atUs, producer, sequence: null,
});

export function keyRegistered(book: KeyBook, agentId: string, key: Pick<SigningKey, 'keyId' | 'publicKey'>, atUs: number, producer: string, validFrom = 0): AgentKeyRegistered {
  return {
    type: 'AgentKeyRegistered', meta: meta(agentId, atUs, producer, `registered:${key.keyId}`), agent_id: agentId, key_id: key.keyId,
    keys: registeredKeys(book.get(agentId) ?? [], key.keyId, key.publicKey, validFrom),
  };
}

export function keyRotated(book: KeyBook, agentId: string, key: Pick<SigningKey, 'keyId' | 'publicKey'>, previousKeyId: string, atUs: number, overlapMs: number, producer: string): AgentKeyRotated {
  return {
    type: 'AgentKeyRotated', meta: meta(agentId, atUs, producer, `rotated:${key.keyId}`), agent_id: agentId, key_id: key.keyId,
    previous_key_id: previousKeyId, overlap_ms: overlapMs, keys: rotatedKeys(book.get(agentId) ?? [], key.keyId, key.publicKey, atUs, overlapMs),
  };
}

export function keyRevoked(book: KeyBook, agentId: string, keyId: string, effectiveAtUs: number, reason: string, atUs: number, producer: string): AgentKeyRevoked {
  return {
    type: 'AgentKeyRevoked', meta: meta(agentId, atUs, producer, `revoked:${keyId}`), agent_id: agentId, key_id: keyId, effective_at: effectiveAtUs,
    reason, keys: revokedKeys(book.get(agentId) ?? [], keyId, effectiveAtUs),
  };
}
