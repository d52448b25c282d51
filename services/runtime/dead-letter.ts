// Dead-letter policy: a record that cannot be processed is copied, raw and unchanged, to
// `<topic>.dlq` with headers that say what failed and where it came from. Processing goes on.
// A copy that would not fit a record (a source record just under the broker's limit, plus these
// headers) is truncated, with its original size in a header: a dead letter the producer refuses
// would abort the batch and rewind the partition onto the same record forever.
import { dlqName } from '../../topics/catalog';
import { errorCode, errorMessage } from './errors';
import type { Headers, InRecord, OutRecord } from './kafka/types';

export const DLQ_HEADERS = {
  errorClass: 'dlq.error.class',
  errorMessage: 'dlq.error.message',
  sourceTopic: 'dlq.source.topic',
  sourcePartition: 'dlq.source.partition',
  sourceOffset: 'dlq.source.offset',
  sourceTimestamp: 'dlq.source.timestamp',
  processor: 'dlq.processor',
  /** Set when the copy was cut to fit: the source record's key + value + headers, in bytes. */
  originalSize: 'dlq.original.size',
  /** Set when the copy was cut to fit: what was cut (value, headers, key). */
  truncated: 'dlq.truncated',
} as const;

const MAX_MESSAGE = 2000;
/**
 * Key + value + headers of a dead letter at most: under librdkafka's message.max.bytes
 * (1,000,000), which the services' producers keep, with room for the record's own framing.
 */
export const DLQ_MAX_RECORD_BYTES = 900_000;
const MAX_KEPT_KEY = 1024;

export function deadLetter(record: InRecord, err: unknown, processor: string): OutRecord {
  const ours: Headers = {
    [DLQ_HEADERS.errorClass]: errorCode(err),
    [DLQ_HEADERS.errorMessage]: errorMessage(err).slice(0, MAX_MESSAGE),
    [DLQ_HEADERS.sourceTopic]: record.topic,
    [DLQ_HEADERS.sourcePartition]: String(record.partition),
    [DLQ_HEADERS.sourceOffset]: record.offset,
    [DLQ_HEADERS.sourceTimestamp]: record.timestamp,
    [DLQ_HEADERS.processor]: processor,
  };
  const value = record.value ?? Buffer.alloc(0);
  const size = (record.key?.length ?? 0) + value.length + headersSize(record.headers) + headersSize(ours);
  if (size <= DLQ_MAX_RECORD_BYTES) return { topic: dlqName(record.topic), key: record.key, value, headers: { ...record.headers, ...ours } };
  return cut(record, value, ours, size);
}

/** The copy cut to fit: the value first, then the source's own headers and an outsized key. */
function cut(record: InRecord, value: Buffer, ours: Headers, size: number): OutRecord {
  const cuts: string[] = [];
  let headers: Headers = record.headers;
  let key = record.key;
  const marks = 64 + DLQ_HEADERS.originalSize.length + DLQ_HEADERS.truncated.length + 'value,headers,key'.length;
  let room = DLQ_MAX_RECORD_BYTES - headersSize(ours) - marks;
  if (key && key.length > MAX_KEPT_KEY) { key = key.subarray(0, MAX_KEPT_KEY); cuts.push('key'); }
  room -= key?.length ?? 0;
  if (headersSize(headers) > room / 2) { headers = {}; cuts.push('headers'); }
  room -= headersSize(headers);
  const kept = value.subarray(0, Math.max(0, room));
  if (kept.length < value.length) cuts.unshift('value');
  return {
    topic: dlqName(record.topic), key, value: kept,
    headers: { ...headers, ...ours, [DLQ_HEADERS.originalSize]: String(size - headersSize(ours)), [DLQ_HEADERS.truncated]: cuts.join(',') },
  };
}

function headersSize(h: Headers): number {
  let n = 0;
  for (const k in h) {
    const v = h[k]!;
    n += Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : v.length);
  }
  return n;
}
