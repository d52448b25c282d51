// Oversized records (issue 15): a record over MAX_RECORD_BYTES is dead-lettered without being
// decoded, and a dead letter that would not fit a record is cut to fit, its original size noted.
import assert from 'node:assert/strict';
import pino from 'pino';
import { DLQ_HEADERS, DLQ_MAX_RECORD_BYTES, deadLetter } from '../../../services/runtime/dead-letter';
import { poison } from '../../../services/runtime/errors';
import type { InRecord, KafkaEngine } from '../../../services/runtime/kafka/types';
import { createMetrics } from '../../../services/runtime/metrics';
import type { Processor } from '../../../services/runtime/processor';
import { ProcessorRunner } from '../../../services/runtime/runner';

const record = (value: Buffer, headers: InRecord['headers'] = {}, key: Buffer | null = Buffer.from('k')): InRecord =>
  ({ topic: 'mesh.heartbeats', partition: 2, offset: '7', key, value, headers, timestamp: '1' });
const sizeOf = (o: ReturnType<typeof deadLetter>) =>
  (o.key?.length ?? 0) + o.value.length + Object.entries(o.headers ?? {}).reduce((n, [k, v]) => n + k.length + v.length, 0);

describe('runtime/dead-letter and runner: oversized records', () => {
  it('given a small bad record, then its dead letter is the raw record, uncut, without a size header', () => {
    const d = deadLetter(record(Buffer.from('garbage')), poison('DECODE_FAILED', 'no magic byte'), 'p');
    assert.equal(d.value.toString(), 'garbage');
    assert.equal(d.headers?.[DLQ_HEADERS.originalSize], undefined);
  });

  it('given a bad record just under the broker\'s limit (1,040,000 bytes), then its dead letter is cut to fit, with the original size and what was cut', () => {
    const value = Buffer.alloc(1_040_000, 7);
    const d = deadLetter(record(value, { trace: 'x' }), poison('DECODE_FAILED', 'no magic byte'), 'p');
    assert.ok(sizeOf(d) <= DLQ_MAX_RECORD_BYTES, `${sizeOf(d)} bytes`);
    assert.equal(d.headers?.[DLQ_HEADERS.originalSize], String(1 + 1_040_000 + 'trace'.length + 1));
    assert.equal(d.headers?.[DLQ_HEADERS.truncated], 'value');
    assert.ok(value.subarray(0, d.value.length).equals(d.value), 'the kept bytes are the record\'s first');
    assert.equal(d.headers?.trace, 'x');
  });

  it('given a record whose own headers and key are huge, then they are dropped and cut too, and the dead letter still fits', () => {
    const d = deadLetter(record(Buffer.alloc(10), { junk: Buffer.alloc(950_000) }, Buffer.alloc(5000, 65)), poison('DECODE_FAILED', 'x'), 'p');
    assert.ok(sizeOf(d) <= DLQ_MAX_RECORD_BYTES);
    assert.equal(d.headers?.[DLQ_HEADERS.truncated], 'key,headers');
    assert.equal(d.key?.length, 1024);
    assert.equal(d.value.length, 10);
  });

  it('given a record over MAX_RECORD_BYTES, when the runner handles it, then it is dead-lettered as OVERSIZED without being decoded', async () => {
    let decoded = 0;
    const processor: Processor = { name: 'big', inputs: ['mesh.heartbeats'], accepts: ['HeartbeatReceived'], handle: () => [] };
    const engine: KafkaEngine = { kind: 'kafkajs', transactionalConsumer: () => { throw new Error('not used'); }, producer: () => Promise.reject(new Error('not used')) };
    const runner = new ProcessorRunner({
      processor, engine, metrics: createMetrics('big-spec', false), logger: pino({ level: 'silent' }), maxRecordBytes: 1000,
      codec: { decodeKnown: () => { decoded++; return undefined; }, decode: async () => { decoded++; throw poison('DECODE_FAILED', 'x'); }, encodeKnown: () => Buffer.alloc(0), encode: async () => Buffer.alloc(0) },
      groupId: 'g', topicPrefix: '', maxRetries: 0, retryBackoffMs: 1, stallTimeoutMs: 60_000,
    });
    const out = await runner.processBatch({ topic: 'mesh.heartbeats', partition: 2, highWatermark: '8', records: [record(Buffer.alloc(1001))] }, { heartbeat: async () => undefined });
    assert.equal(decoded, 0);
    assert.deepEqual(out.map((o) => [o.topic, String(o.headers?.[DLQ_HEADERS.errorClass])]), [['mesh.heartbeats.dlq', 'OVERSIZED']]);
    assert.match(String(out[0]!.headers?.[DLQ_HEADERS.errorMessage]), /1001 bytes is over the 1000-byte limit \(MAX_RECORD_BYTES\)/);
  });
});
