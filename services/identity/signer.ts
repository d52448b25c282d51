// The sending side: a signed event carries the sender's next sequence number and its signature
// over the canonical body (canonical.ts). A sender's sequence is at least the event time in µs,
// so a restarted sender (its counter lost) still sends numbers above the ones it sent before.
import type avro from 'avsc';
import { canonicalBody, senderOf, type SignedEvent } from './canonical';
import { signBytes, type SigningKey } from './ed25519';

export class MessageSigner {
  private readonly last = new Map<string, number>();

  /** `typeOf`: the Avro type a signed event is encoded with (the codec's schema of its type). */
  constructor(private readonly typeOf: (type: SignedEvent['type']) => avro.Type) {}

  /** The next sequence of `sender`: above its previous one and at least `atUs`. */
  nextSeq(sender: string, atUs: number): number {
    const seq = Math.max((this.last.get(sender) ?? 0) + 1, Math.floor(atUs));
    this.last.set(sender, seq);
    return seq;
  }

  sign<E extends SignedEvent>(e: E, key: SigningKey, seq = this.nextSeq(senderOf(e), e.meta.occurred_at)): E {
    const withSeq = { ...e, sender_seq: seq, signature: null };
    const sig = signBytes(key, canonicalBody(this.typeOf(e.type), withSeq));
    return { ...withSeq, signature: { key_id: key.keyId, sig } };
  }
}
