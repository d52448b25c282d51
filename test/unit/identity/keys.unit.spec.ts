import assert from 'node:assert/strict';
import { signingKeyFromSeed } from '../../../services/identity/ed25519';
import { keyRegistered, keyRevoked, keyRotated } from '../../../services/identity/key-events';
import { foldKeyEvent, lookupKey } from '../../../services/identity/keys';
import type { AgentKey } from '../../../schemas/generated/events';

const S = 1_000_000;
const T0 = 1_700_000_000 * S;

describe('key book (seed 002 §9.1): registration, rotation with an overlap, revocation, in event time', () => {
  const k1 = signingKeyFromSeed('agent-1 key 1');
  const k2 = signingKeyFromSeed('agent-1 key 2');

  it('given a seed, when the key is made twice, then it is the same key (a replayed simulation signs alike) and its id is 16 hex digits', () => {
    assert.deepEqual(signingKeyFromSeed('agent-1 key 1').publicKey, k1.publicKey);
    assert.match(k1.keyId, /^[0-9a-f]{16}$/);
    assert.notEqual(k1.keyId, k2.keyId);
  });

  it('given a registered key rotated at T with a 60 s overlap, then the old key signs until T+60 s (exclusive) and the new one from T', () => {
    const book = new Map<string, readonly AgentKey[]>();
    foldKeyEvent(book, keyRegistered(book, 'agent-1', k1, T0, 'spec'));
    assert.equal(lookupKey(book, 'agent-1', k1.keyId, T0 - 3600 * S).kind, 'valid');
    foldKeyEvent(book, keyRotated(book, 'agent-1', k2, k1.keyId, T0 + 10 * S, 60_000, 'spec'));
    assert.equal(lookupKey(book, 'agent-1', k1.keyId, T0 + 69 * S).kind, 'valid');
    assert.equal(lookupKey(book, 'agent-1', k1.keyId, T0 + 70 * S).kind, 'expired');
    assert.equal(lookupKey(book, 'agent-1', k2.keyId, T0 + 10 * S).kind, 'valid');
    assert.equal(lookupKey(book, 'agent-1', k2.keyId, T0 + 10 * S - 1).kind, 'expired');
    assert.equal(lookupKey(book, 'agent-2', k2.keyId, T0 + 20 * S).kind, 'unknown');
  });

  it('given a revocation effective at R, then the key signs before R and not from R on, and the record carries the whole set (compaction keeps it)', () => {
    const book = new Map<string, readonly AgentKey[]>();
    foldKeyEvent(book, keyRegistered(book, 'agent-1', k1, T0, 'spec'));
    foldKeyEvent(book, keyRotated(book, 'agent-1', k2, k1.keyId, T0, 0, 'spec'));
    const revoked = keyRevoked(book, 'agent-1', k2.keyId, T0 + 5 * S, 'leaked', T0 + 5 * S, 'spec');
    assert.deepEqual(revoked.keys.map((k) => k.key_id), [k1.keyId, k2.keyId]);
    // Only the latest record per agent survives compaction: a fresh book from it alone decides the same.
    const fresh = new Map<string, readonly AgentKey[]>();
    foldKeyEvent(fresh, revoked);
    for (const b of [book, fresh]) {
      foldKeyEvent(b as Map<string, readonly AgentKey[]>, revoked);
      assert.equal(lookupKey(b, 'agent-1', k2.keyId, T0 + 5 * S - 1).kind, 'valid');
      assert.equal(lookupKey(b, 'agent-1', k2.keyId, T0 + 5 * S).kind, 'expired');
    }
  });
});
