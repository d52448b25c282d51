// What a sender signs (seed 002 §9.1 "Ed25519 signature on message hash"): the message's Avro body
// encoded with its `signature` field null, `sender_seq` included. `signature` is the last field
// of a signed event's schema (a unit spec keeps it so), so the canonical body of a record as
// written is its bytes with the encoded signature at the end replaced by the null branch: the
// verifier needs neither the writer's schema nor a re-encoding, and a field added later by a
// newer writer is covered too. Pure.
import type avro from 'avsc';
import type { AckReceived, HeartbeatReceived, MessageSignature, SolvermeshEvent, VerifierVoteCast } from '../../schemas/generated/events';
import { HEADER_SIZE } from '../runtime/wire-format';

export type SignedEvent = HeartbeatReceived | AckReceived | VerifierVoteCast;
export const SIGNED_TYPES = ['HeartbeatReceived', 'AckReceived', 'VerifierVoteCast'] as const satisfies ReadonlyArray<SignedEvent['type']>;
const SIGNED = new Set<string>(SIGNED_TYPES);
export const isSigned = (e: SolvermeshEvent): e is SignedEvent => SIGNED.has(e.type);

/** Who a signed event claims to come from: the agent, or the verifier group for a vote. */
export const senderOf = (e: SignedEvent): string => (e.type === 'VerifierVoteCast' ? e.verifier_id : e.agent_id);

/** The canonical body from the event itself (the signer; a verifier whose record does not end with the signature). */
export function canonicalBody(type: avro.Type, e: SignedEvent): Buffer {
  return type.toBuffer({ ...e, signature: null });
}

/** Avro long (zig-zag varint) of a non-negative n. */
function varint(n: number, out: number[]): void {
  let v = n * 2;
  while (v >= 0x80) { out.push((v & 0x7f) | 0x80); v = Math.floor(v / 128); }
  out.push(v);
}

/** The bytes `["null", MessageSignature]` branch 1 encodes to. */
export function encodedSignature(s: MessageSignature): Buffer {
  const id = Buffer.from(s.key_id, 'utf8');
  const head: number[] = [2];
  varint(id.length, head);
  const mid: number[] = [];
  varint(s.sig.length, mid);
  return Buffer.concat([Buffer.from(head), id, Buffer.from(mid), s.sig]);
}

const NULL_BRANCH = Buffer.from([0]);

/**
 * The canonical body of a framed record (magic byte, schema id, Avro body) whose last field is
 * `s`, or undefined when the body does not end with it (a writer schema with the signature
 * elsewhere: re-encode with canonicalBody).
 */
export function canonicalOfFramed(framed: Buffer, s: MessageSignature): Buffer | undefined {
  const tail = encodedSignature(s);
  const end = framed.length - tail.length;
  if (end < HEADER_SIZE || !framed.subarray(end).equals(tail)) return undefined;
  return Buffer.concat([framed.subarray(HEADER_SIZE, end), NULL_BRANCH]);
}
