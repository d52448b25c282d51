// Whether a signed message may be applied (seed 002 §9.1 "recipient verifies before processing"):
// signed by a key the claimed sender had at the message's event time, and a sequence number above
// the last one this partition saw from it. Pure: the key book, the last sequence and the
// signature check are inputs.
//
// Own key (ownKey, seed 002 §9.2 rogue_agent): a refusal only the claimed sender could have
// brought about, so it counts against it (impedance's fold quarantines past a limit). A bad
// signature never is one: key ids are public, anyone can name the sender's. A sequence at or
// below the last one seen is, when its signature verifies and the message is dated after the
// last one accepted: a replay by someone else resends an older message (dated at or before it),
// while a newer message reusing a sequence was signed by the key holder.
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
    /** Only the sender could have written it (its signature verifies): counted against it. */
    readonly ownKey: boolean;
  };

const refuse = (reason: Refusal, detail: string, keyId: string | null, ownKey = false): Verdict => ({ ok: false, reason, detail, keyId, ownKey });

/**
 * `required`: an unsigned message is refused (signing on); otherwise it passes unchecked, but a
 * signed one is still verified. `sigValid` checks the signature against a raw public key.
 */
/** The last message accepted from a sender in a partition: its sequence and the latest event time accepted from it. */
export interface LastSeen { readonly seq: number; readonly atUs: number }

export function judge(c: Claim, book: KeyBook, last: LastSeen | undefined, required: boolean, sigValid: (publicKey: Uint8Array) => boolean): Verdict {
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
  if (!sigValid(found.key.public_key)) return refuse('FORGED', `signature of ${c.sender} under its key ${s.key_id} does not verify`, s.key_id);
  if (last !== undefined && c.seq <= last.seq) {
    const newer = c.atUs > last.atUs;
    const why = newer ? `, on a message dated after the last accepted (${last.atUs} µs): signed by ${c.sender}'s key` : '';
    return refuse('REPLAYED', `sequence ${c.seq} of ${c.sender} is not above ${last.seq}, the last seen here${why}`, s.key_id, newer);
  }
  return { ok: true, seq: c.seq };
}
