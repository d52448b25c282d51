// Whether a signed message may be applied (seed 002 §9.1 "recipient verifies before processing"):
// signed by a key the claimed sender had at the message's event time, and a sequence number above
// the last one this partition saw from it. Pure: the key book, the last sequence and the
// signature check are inputs.
import type { MessageSignature } from '../../schemas/generated/events';
import { lookupKey, type KeyBook } from './keys';

export const REFUSALS = ['UNSIGNED', 'UNKNOWN_KEY', 'KEY_EXPIRED', 'FORGED', 'REPLAYED'] as const;
export type Refusal = (typeof REFUSALS)[number];

export interface Claim {
  readonly sender: string;
  /** The message's event time, µs. */
  readonly atUs: number;
  readonly seq: number | null;
  readonly signature: MessageSignature | null;
}

export type Verdict =
  | { readonly ok: true; readonly seq: number | null }
  | {
    readonly ok: false; readonly reason: Refusal; readonly detail: string; readonly keyId: string | null;
    /** The key id is the sender's, valid at the event time, and the signature is wrong: the sender's own key. */
    readonly ownKey: boolean;
  };

const refuse = (reason: Refusal, detail: string, keyId: string | null, ownKey = false): Verdict => ({ ok: false, reason, detail, keyId, ownKey });

/**
 * `required`: an unsigned message is refused (signing on); otherwise it passes unchecked, but a
 * signed one is still verified. `sigValid` checks the signature against a raw public key.
 */
export function judge(c: Claim, book: KeyBook, lastSeq: number | undefined, required: boolean, sigValid: (publicKey: Uint8Array) => boolean): Verdict {
  const s = c.signature;
  if (s === null) return required ? refuse('UNSIGNED', `unsigned message from ${c.sender}: signing is required`, null) : { ok: true, seq: c.seq };
  if (c.seq === null) return refuse('FORGED', `signed message from ${c.sender} without a sender sequence`, s.key_id);
  const found = lookupKey(book, c.sender, s.key_id, c.atUs);
  if (found.kind === 'unknown') return refuse('UNKNOWN_KEY', `${c.sender} has no key ${s.key_id}`, s.key_id);
  if (found.kind === 'expired') {
    const k = found.key;
    const span = `${k.valid_from}..${k.valid_until ?? ''}`;
    return refuse('KEY_EXPIRED', `key ${s.key_id} of ${c.sender} does not sign at ${c.atUs} (${k.revoked ? 'revoked' : 'valid'} ${span} µs)`, s.key_id);
  }
  if (!sigValid(found.key.public_key)) return refuse('FORGED', `signature of ${c.sender} under its key ${s.key_id} does not verify`, s.key_id, true);
  if (lastSeq !== undefined && c.seq <= lastSeq) return refuse('REPLAYED', `sequence ${c.seq} of ${c.sender} is not above ${lastSeq}, the last seen here`, s.key_id);
  return { ok: true, seq: c.seq };
}
