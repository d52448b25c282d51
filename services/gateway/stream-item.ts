// What a stream shows of an event: the record's fields without the envelope (its event id
// kept), where it sits in the log, and the record time. Serialised once, shared by every stream
// that sends it. Pure.
import type { SolvermeshEvent } from '../../schemas/generated/events';
import { endsSession } from '../solver/events';
import { tpCode, type StreamTopic } from './cursor';

export interface StreamItem {
  readonly sessionId: string;
  readonly tp: string;
  readonly offset: number;
  readonly timestampMs: number;
  readonly type: string;
  /** The session's last event: its close or its rejection (not the refusal of a second open of its id). */
  readonly final: boolean;
  /** The JSON object without its id, beginning with `{`. */
  readonly json: string;
}

/** Bytes fields (packed arrays, raw payloads) travel as their length: streams carry results, not blobs. */
function plain(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return { bytes: v.length };
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plain(x);
    return out;
  }
  return v;
}

export function streamItem(topic: StreamTopic, partition: number, offset: number, timestampMs: number, sessionId: string, e: SolvermeshEvent): StreamItem {
  const { meta, ...fields } = e;
  const body = {
    type: e.type, topic, partition, offset, timestamp: new Date(timestampMs).toISOString(), event_id: meta.event_id,
    ...(plain(fields) as Record<string, unknown>),
  };
  return { sessionId, tp: tpCode(topic, partition), offset, timestampMs, type: e.type, final: endsSession(e), json: JSON.stringify(body) };
}

/** The NDJSON line and SSE frame of an item under a stream's id. */
export const ndjsonLine = (id: string, json: string) => `{"id":${JSON.stringify(id)},${json.slice(1)}\n`;
export const sseFrame = (id: string, type: string, json: string) => `id: ${id}\nevent: ${type}\ndata: ${ndjsonLine(id, json).slice(0, -1)}\n\n`;
