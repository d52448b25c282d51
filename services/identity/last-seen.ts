// The last message per sender a guarded partition accepted (seed 002 §9.1 replay protection),
// rebuilt from the partition's log when it is assigned: without it a restarted service would
// take a replay of any message sent before the restart. A record counted is one the guard let
// through (its sequence was taken), which is every signed record below the group's committed
// offset except those it dead-lettered; a THROTTLED one had passed the signature and sequence
// checks before the rate check refused it, so it counts too. Pure.
import { isSigned, senderOf } from './canonical';
import type { SolvermeshEvent } from '../../schemas/generated/events';
import type { LastSeen } from './verdict';

/** Refusals after which the sequence had been taken (message-guard.ts: the rate check comes after it). */
const SEQUENCE_TAKEN = new Set(['THROTTLED']);

/** Whether a record the processor dead-lettered with `errorClass` (undefined: not dead-lettered) had its sequence taken. */
export const sequenceTaken = (errorClass: string | undefined): boolean => errorClass === undefined || SEQUENCE_TAKEN.has(errorClass);

/** Folds one record of the partition, in order; `type` is the signed type verified on it (others pass). */
export function foldLastSeen(book: Map<string, LastSeen>, e: SolvermeshEvent | undefined, type: string, errorClass: string | undefined): void {
  if (!e || e.type !== type || !isSigned(e) || e.sender_seq === null || e.signature === null || !sequenceTaken(errorClass)) return;
  const sender = senderOf(e);
  const last = book.get(sender);
  book.set(sender, { seq: Math.max(last?.seq ?? -Infinity, e.sender_seq), atUs: Math.max(last?.atUs ?? -Infinity, e.meta.occurred_at) });
}
