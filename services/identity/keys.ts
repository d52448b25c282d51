// The key book (seed 002 §9.1 agent_identity): every agent's public keys, folded from
// mesh.agent-keys. Each record there carries the agent's whole key set after it, so the fold is
// "the latest record per agent wins" and a compacted topic restores it. Whether a key signs for a
// message is decided by the message's event time against the key's span, never by when the book
// read the key: a replay decides as the live run did. Pure.
import type { AgentKey, AgentKeyRegistered, AgentKeyRevoked, AgentKeyRotated } from '../../schemas/generated/events';

export type KeyEvent = AgentKeyRegistered | AgentKeyRotated | AgentKeyRevoked;
export const KEY_EVENT_TYPES = ['AgentKeyRegistered', 'AgentKeyRotated', 'AgentKeyRevoked'] as const satisfies ReadonlyArray<KeyEvent['type']>;

const KEY_TYPES = new Set<string>(KEY_EVENT_TYPES);
export const isKeyEvent = (e: { type: string } | undefined): e is KeyEvent => e !== undefined && KEY_TYPES.has(e.type);

export type KeyBook = ReadonlyMap<string, readonly AgentKey[]>;
export const EMPTY_BOOK: KeyBook = new Map();

/** Folds one key event into `book` in place (the adapter owns the map). */
export function foldKeyEvent(book: Map<string, readonly AgentKey[]>, e: KeyEvent): void {
  book.set(e.agent_id, e.keys);
}

export type KeyLookup =
  | { readonly kind: 'valid'; readonly key: AgentKey }
  /** The sender has no key of that id (forged, or registered after the book was read). */
  | { readonly kind: 'unknown' }
  /** The key is the sender's but does not sign at that event time (before its span, after a rotation's overlap, revoked). */
  | { readonly kind: 'expired'; readonly key: AgentKey };

export function lookupKey(book: KeyBook, agentId: string, keyId: string, atUs: number): KeyLookup {
  const key = book.get(agentId)?.find((k) => k.key_id === keyId);
  if (!key) return { kind: 'unknown' };
  const inSpan = atUs >= key.valid_from && (key.valid_until === null || atUs < key.valid_until);
  return inSpan ? { kind: 'valid', key } : { kind: 'expired', key };
}

/** Whether the agent has any key at all (an agent without one cannot be verified: its messages are unsigned to the mesh). */
export const hasKeys = (book: KeyBook, agentId: string) => (book.get(agentId)?.length ?? 0) > 0;

const newKey = (keyId: string, publicKey: Buffer, validFrom: number): AgentKey => ({ key_id: keyId, public_key: publicKey, valid_from: validFrom, valid_until: null, revoked: false });

/**
 * The key set after registering a key: kept keys stay (old messages stay verifiable), a key
 * registered again is left as it is. It signs from `validFrom` (default: the epoch; a joining
 * agent's first messages may be dated before the registration landed).
 */
export function registeredKeys(current: readonly AgentKey[], keyId: string, publicKey: Buffer, validFrom = 0): AgentKey[] {
  if (current.some((k) => k.key_id === keyId)) return [...current];
  return [...current, newKey(keyId, publicKey, validFrom)];
}

/** After a rotation at `atUs`: the new key signs from then, every other open key until atUs + overlap. */
export function rotatedKeys(current: readonly AgentKey[], keyId: string, publicKey: Buffer, atUs: number, overlapMs: number): AgentKey[] {
  const end = atUs + overlapMs * 1000;
  const kept = current.filter((k) => k.key_id !== keyId).map((k) => (k.valid_until === null || k.valid_until > end ? { ...k, valid_until: end } : k));
  return [...kept, newKey(keyId, publicKey, atUs)];
}

/** After revoking `keyId` from `effectiveAtUs` (an earlier end, if it had one, stays). */
export function revokedKeys(current: readonly AgentKey[], keyId: string, effectiveAtUs: number): AgentKey[] {
  return current.map((k) => (k.key_id !== keyId ? k : { ...k, revoked: true, valid_until: k.valid_until === null ? effectiveAtUs : Math.min(k.valid_until, effectiveAtUs) }));
}
