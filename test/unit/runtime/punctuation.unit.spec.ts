import assert from 'node:assert/strict';
import { mock } from 'node:test';
import pino from 'pino';
import type { SolvermeshEvent } from '../../../schemas/generated/events';
import type { EventCodec } from '../../../services/runtime/codec';
import type { InRecord, KafkaEngine, TransactionalConsumer } from '../../../services/runtime/kafka/types';
import { createMetrics } from '../../../services/runtime/metrics';
import type { Processor } from '../../../services/runtime/processor';
import { ProcessorRunner } from '../../../services/runtime/runner';

/** A consumer that never fetches: the spec hands the runner its batches itself. */
const idleConsumer: TransactionalConsumer = { start: async () => undefined, stop: async () => undefined, progress: () => [] };
const engine = { kind: 'kafkajs', transactionalConsumer: () => idleConsumer, producer: () => { throw new Error('not used'); } } as unknown as KafkaEngine;
const codec = { decodeKnown: (v: Buffer) => ({ event: JSON.parse(v.toString()) as SolvermeshEvent }) } as unknown as EventCodec;
const record = (offset: number): InRecord => ({ topic: 't', partition: 0, offset: String(offset), key: null, value: Buffer.from('{"type":"ConflictReported"}'), headers: {}, timestamp: '0' });
/** Lets queued promise callbacks run (setImmediate is not faked). */
const settle = () => new Promise((r) => setImmediate(r));

describe('runner punctuation', () => {
  let clock = 0;
  const log: string[] = [];
  let gate: Promise<void> = Promise.resolve();
  const processor: Processor = {
    name: 'punctuated', inputs: ['t'],
    accepts: ['ConflictReported'],
    async handle() { log.push('handle'); await gate; log.push('handled'); return []; },
    flush() { log.push('flush'); return []; },
    punctuation: { everyMs: 1000, punctuate(t) { log.push(`punctuate@${t}`); } },
  };
  let runner: ProcessorRunner;

  beforeEach(async () => {
    mock.timers.enable({ apis: ['setInterval'] });
    clock = 0;
    log.length = 0;
    gate = Promise.resolve();
    runner = new ProcessorRunner({
      processor, engine, codec, metrics: createMetrics('spec', false), logger: pino({ level: 'silent' }), groupId: 'g', topicPrefix: '',
      maxRetries: 0, retryBackoffMs: 1, stallTimeoutMs: 60_000, now: () => clock,
    });
    await runner.start();
  });

  afterEach(async () => {
    await runner.stop();
    mock.timers.reset();
  });

  it('given no batch, when the cadence passes, then punctuate is called with the runner clock each time', async () => {
    clock = 1000;
    mock.timers.tick(1000);
    await settle();
    clock = 2000;
    mock.timers.tick(1000);
    await settle();
    assert.deepEqual(log, ['punctuate@1000', 'punctuate@2000']);
  });

  it('given a batch under way, when the cadence passes, then punctuate waits for the batch to be flushed', async () => {
    let release!: () => void;
    gate = new Promise((r) => { release = r; });
    const batch = runner.processBatch({ topic: 't', partition: 0, records: [record(0)], highWatermark: '1' }, { heartbeat: async () => undefined });
    await settle();
    clock = 1000;
    mock.timers.tick(1000);
    mock.timers.tick(1000);
    await settle();
    assert.deepEqual(log, ['handle'], 'not beside the handler');
    release();
    await batch;
    await settle();
    assert.deepEqual(log, ['handle', 'handled', 'flush', 'punctuate@1000'], 'once after the flush, however many ticks it missed');
  });

  it('given a punctuation queued, when a batch arrives, then the batch waits for it', async () => {
    let release!: () => void;
    const slow = new Promise<void>((r) => { release = r; });
    const punctuate = processor.punctuation!.punctuate;
    (processor.punctuation as { punctuate: typeof punctuate }).punctuate = async (t) => { log.push(`punctuate@${t}`); await slow; log.push('punctuated'); };
    try {
      mock.timers.tick(1000);
      const batch = runner.processBatch({ topic: 't', partition: 0, records: [record(0)], highWatermark: '1' }, { heartbeat: async () => undefined });
      await settle();
      assert.deepEqual(log, ['punctuate@0']);
      release();
      await batch;
      assert.deepEqual(log, ['punctuate@0', 'punctuated', 'handle', 'handled', 'flush']);
    } finally {
      (processor.punctuation as { punctuate: typeof punctuate }).punctuate = punctuate;
    }
  });
});
