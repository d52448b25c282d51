// A stream's position in the log, as the id of every event it sends (SSE `id:`, NDJSON "id").
// A session's events come from several topics, and its conflicts from any partition of
// mesh.conflicts, so the position is the last offset delivered per topic-partition:
// `i3-42.s3-1.c5-0` = solver.iterations[3]@42, solver.sessions[3]@1, mesh.conflicts[5]@0.
// Resuming after it delivers exactly the events at later offsets, in whatever order topics
// interleave: nothing lost, nothing repeated. Pure.
import { GatewayError } from './errors';

export const STREAM_TOPICS = {
  'solver.sessions': 's',
  'solver.iterations': 'i',
  'solver.verifications': 'v',
  'mesh.conflicts': 'c',
} as const;
export type StreamTopic = keyof typeof STREAM_TOPICS;
export const isStreamTopic = (topic: string): topic is StreamTopic => Object.hasOwn(STREAM_TOPICS, topic);
const BY_CODE = new Map<string, string>(Object.entries(STREAM_TOPICS).map(([t, c]) => [c, t]));

/** `<code><partition>` of a topic-partition. */
export const tpCode = (topic: StreamTopic, partition: number) => `${STREAM_TOPICS[topic]}${partition}`;

export type Cursor = Map<string, number>;

export function encodeCursor(c: Cursor): string {
  return [...c].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([tp, o]) => `${tp}-${o}`).join('.') || '0';
}

/** `what` names the header or parameter for the 400. */
export function parseCursor(raw: string, what: string): Cursor {
  const c: Cursor = new Map();
  if (raw === '0' || raw === '') return c;
  for (const part of raw.split('.')) {
    const m = /^([a-z])(\d{1,4})-(\d{1,18})$/.exec(part);
    if (!m || !BY_CODE.has(m[1]!)) throw new GatewayError('BAD_REQUEST', `${what} ${JSON.stringify(raw)} is not a stream position (an event id this gateway sent, such as i3-42.s3-1)`);
    c.set(`${m[1]}${m[2]}`, Number(m[3]));
  }
  return c;
}

/** Whether an event at (tp, offset) comes after the cursor. */
export const isAfter = (c: Cursor, tp: string, offset: number) => offset > (c.get(tp) ?? -1);
