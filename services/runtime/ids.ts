// Deterministic ids for derived events: the same input event always yields the same output ids,
// so replay reproduces them bit for bit and idempotent sinks can deduplicate on them.
import { createHash } from 'node:crypto';

/** A UUID (version 5 layout, SHA-1) named by the causing event id and a discriminator. */
export function derivedEventId(causationId: string, discriminator: string): string {
  const h = createHash('sha1').update(causationId).update('\u0000').update(discriminator).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}
