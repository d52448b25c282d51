// The event type of a record from its schema id alone: the first record of each id is decoded,
// later ones are not. Reading a long solver.costs to count updates then costs a header read
// per record instead of an Avro decode.
import type { EventCodec } from './codec';
import { isRetriable } from './errors';
import { unframe } from './wire-format';

export type RecordTyper = (value: Buffer | null) => Promise<string | undefined>;

export function recordTyper(codec: EventCodec): RecordTyper {
  const byId = new Map<number, string>();
  return async (value) => {
    let id: number;
    try {
      id = unframe(value).schemaId;
    } catch {
      return undefined; // not in the wire format: dead-lettered by the solver, not an event
    }
    let type = byId.get(id);
    if (type === undefined) {
      try {
        type = (await codec.decode(value)).event.type;
      } catch (err) {
        if (isRetriable(err)) throw err;
        return undefined;
      }
      byId.set(id, type);
    }
    return type;
  };
}
