// Confluent wire format, the framing every Confluent-compatible client reads:
//
//   byte 0      magic byte, always 0
//   bytes 1..4  schema id, big-endian unsigned 32-bit, as assigned by the schema registry
//   bytes 5..   Avro binary encoding of the record with that schema (no container header)
import { poison } from './errors';

export const MAGIC_BYTE = 0;
export const HEADER_SIZE = 5;

export function frame(schemaId: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_SIZE + body.length);
  out.writeUInt8(MAGIC_BYTE, 0);
  out.writeUInt32BE(schemaId, 1);
  body.copy(out, HEADER_SIZE);
  return out;
}

export interface Unframed {
  readonly schemaId: number;
  readonly body: Buffer;
}

export function unframe(buf: Buffer | null | undefined): Unframed {
  return { schemaId: framedSchemaId(buf), body: (buf as Buffer).subarray(HEADER_SIZE) };
}

/** The schema id of a framed value (its body starts at HEADER_SIZE); throws what unframe() throws. */
export function framedSchemaId(buf: Buffer | null | undefined): number {
  if (!buf || buf.length === 0) throw poison('DECODE_FAILED', 'empty record value (tombstone or missing payload)');
  if (buf.length < HEADER_SIZE) throw poison('DECODE_FAILED', `record of ${buf.length} bytes is shorter than the 5-byte Confluent header`);
  const magic = buf[0]!;
  if (magic !== MAGIC_BYTE) throw poison('DECODE_FAILED', `magic byte is ${magic}, expected 0: not in Confluent wire format`);
  return buf.readUInt32BE(1);
}
