// The event type of a record from its schema id alone: the first record of each id is decoded,
// later ones are not. Reading a long solver.costs to count updates then costs a header read
// per record instead of an Avro decode.
import type { SolvermeshEvent } from '../../schemas/generated/events';
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

/**
 * The record's event, or undefined when its bytes do not decode: a typer names a record by its
 * schema id alone, so a body cut short or altered under a known id is typed and still fails here.
 * The runner dead-lettered such a record and no fold took it, so a restore reading the log passes
 * over it; failing on it would stop the restore at every start, for good. A registry outage
 * (retriable) is thrown.
 */
export async function decodedOrUndefined(codec: EventCodec, value: Buffer): Promise<SolvermeshEvent | undefined> {
  try {
    return (await codec.decode(value)).event;
  } catch (err) {
    if (isRetriable(err)) throw err;
    return undefined;
  }
}
