// The event-time bound (issue 15, time from the future or the far past): the runner refuses a
// record whose event time is too far from its Kafka timestamp, before the processor folds it;
// a restore's validator, given the record's timestamp, refuses the same record.
import assert from 'node:assert/strict';
import pino from 'pino';
import type { ConflictReported, SolvermeshEvent } from '../../../schemas/generated/events';
import { DLQ_HEADERS } from '../../../services/runtime/dead-letter';
import { eventTimeSkew, withEventTimeBound, type EventTimeBound } from '../../../services/runtime/event-time';
import type { KafkaEngine } from '../../../services/runtime/kafka/types';
import { createMetrics } from '../../../services/runtime/metrics';
import type { Processor } from '../../../services/runtime/processor';
import { ProcessorRunner } from '../../../services/runtime/runner';
import { schemaValidator } from '../../../services/runtime/validation';
import { conflictReported } from '../../support/events';

const BOUND: EventTimeBound = { aheadMs: 300_000, behindMs: 5 * 365 * 86_400_000 };
const NOW_MS = 1_780_000_000_000;
const YEAR_US = 365 * 86_400 * 1e6;
const at = (e: ConflictReported, us: number): ConflictReported => ({ ...e, meta: { ...e.meta, occurred_at: us } });

describe('runtime/event-time: an event time too far from its record\'s timestamp is refused', () => {
  const report = conflictReported(1);

  it('given event times around the record\'s timestamp, then within the bound they pass and beyond it they are refused, naming the bound', () => {
    assert.equal(eventTimeSkew(at(report, NOW_MS * 1000 + 299e6), NOW_MS, BOUND), undefined);
    assert.equal(eventTimeSkew(at(report, NOW_MS * 1000 - 4 * YEAR_US), NOW_MS, BOUND), undefined);
    assert.match(eventTimeSkew(at(report, NOW_MS * 1000 + 3 * YEAR_US), NOW_MS, BOUND)!, /3\.0 years ahead .*MAX_EVENT_TIME_SKEW_MS 300000/);
    assert.match(eventTimeSkew(at(report, NOW_MS * 1000 + 301e6), NOW_MS, BOUND)!, /5\.0 min ahead/);
    // milliseconds written where microseconds belong: 1970
    assert.match(eventTimeSkew(at(report, NOW_MS), NOW_MS, BOUND)!, /behind .*MAX_EVENT_TIME_AGE_MS/);
    // a record without a timestamp (-1) has nothing to compare with
    assert.equal(eventTimeSkew(at(report, NOW_MS * 1000 + 3 * YEAR_US), -1, BOUND), undefined);
  });

  it('given a restore\'s validator, then a record refused by the bound is refused with its timestamp, and without one only the schema counts', () => {
    const v = withEventTimeBound(schemaValidator(), BOUND);
    const future = at(report, NOW_MS * 1000 + 3 * YEAR_US);
    assert.match(v(future, NOW_MS).join(), /^EVENT_TIME_SKEW: /);
    assert.deepEqual(v(future), []);
  });

  it('given a batch with a report dated 3 years ahead between two good ones, when the runner handles it, then that one is dead-lettered as EVENT_TIME_SKEW and the processor never sees it', async () => {
    const log: SolvermeshEvent[] = [at(conflictReported(1), NOW_MS * 1000), at(conflictReported(2), NOW_MS * 1000 + 3 * YEAR_US), at(conflictReported(3), NOW_MS * 1000 + 1e6)];
    const handled: string[] = [];
    const processor: Processor<'ConflictReported'> = { name: 'skew', inputs: ['mesh.conflicts'], accepts: ['ConflictReported'], handle: (e) => { handled.push(e.conflict_id); return []; } };
    const engine: KafkaEngine = { kind: 'kafkajs', transactionalConsumer: () => { throw new Error('not used'); }, producer: () => Promise.reject(new Error('not used')) };
    const decodeKnown = (value: Buffer | null | undefined) => ({ event: log[value!.readUInt32BE(0)]!, schemaId: 1 });
    const runner = new ProcessorRunner({
      processor: processor as unknown as Processor, engine, metrics: createMetrics('skew-spec', false), logger: pino({ level: 'silent' }),
      codec: { decodeKnown, decode: async (v) => decodeKnown(v), encodeKnown: () => Buffer.alloc(0), encode: async () => Buffer.alloc(0) },
      groupId: 'g', topicPrefix: '', maxRetries: 0, retryBackoffMs: 1, stallTimeoutMs: 60_000, eventTime: BOUND,
    });
    const records = log.map((e, i) => {
      const value = Buffer.alloc(4);
      value.writeUInt32BE(i);
      return { topic: 'mesh.conflicts', partition: 0, offset: String(i), key: Buffer.from((e as ConflictReported).conflict_id), value, headers: {}, timestamp: String(NOW_MS) };
    });
    const out = await runner.processBatch({ topic: 'mesh.conflicts', partition: 0, highWatermark: '3', records }, { heartbeat: async () => undefined });
    assert.deepEqual(handled, ['conflict-1', 'conflict-3']);
    assert.equal(out.length, 1);
    assert.equal(out[0]!.topic, 'mesh.conflicts.dlq');
    assert.equal(String(out[0]!.headers?.[DLQ_HEADERS.errorClass]), 'EVENT_TIME_SKEW');
    assert.match(String(out[0]!.headers?.[DLQ_HEADERS.errorMessage]), /years ahead/);
  });
});
