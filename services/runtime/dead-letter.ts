// Dead-letter policy: a record that cannot be processed is copied, raw and unchanged, to
// `<topic>.dlq` with headers that say what failed and where it came from. Processing goes on.
import { dlqName } from '../../topics/catalog';
import { errorCode, errorMessage } from './errors';
import type { InRecord, OutRecord } from './kafka/types';

export const DLQ_HEADERS = {
  errorClass: 'dlq.error.class',
  errorMessage: 'dlq.error.message',
  sourceTopic: 'dlq.source.topic',
  sourcePartition: 'dlq.source.partition',
  sourceOffset: 'dlq.source.offset',
  sourceTimestamp: 'dlq.source.timestamp',
  processor: 'dlq.processor',
} as const;

const MAX_MESSAGE = 2000;

export function deadLetter(record: InRecord, err: unknown, processor: string): OutRecord {
  return {
    topic: dlqName(record.topic),
    key: record.key,
    value: record.value ?? Buffer.alloc(0),
    headers: {
      ...record.headers,
      [DLQ_HEADERS.errorClass]: errorCode(err),
      [DLQ_HEADERS.errorMessage]: errorMessage(err).slice(0, MAX_MESSAGE),
      [DLQ_HEADERS.sourceTopic]: record.topic,
      [DLQ_HEADERS.sourcePartition]: String(record.partition),
      [DLQ_HEADERS.sourceOffset]: record.offset,
      [DLQ_HEADERS.sourceTimestamp]: record.timestamp,
      [DLQ_HEADERS.processor]: processor,
    },
  };
}
