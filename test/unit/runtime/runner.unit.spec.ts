// The runner's dispatch on event type, without a broker or a registry: a processor is handed only
// the types it declares in `accepts`; records of other types on its inputs are passed over (no
// output, no dead letter), as before types were declared as data.
import { DLQ_HEADERS } from '../../../services/runtime/dead-letter';
import { keyOfTopic, misKeyed } from '../../../services/runtime/record-key';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { SolvermeshEvent } from '../../../schemas/generated/events';
import { conflictProcessor } from '../../../services/coordinator/conflict-processor';
import { decideConflict } from '../../../services/coordinator/conflicts';
import { SolvermeshError, unreachable } from '../../../services/runtime/errors';
import type { InRecord, KafkaEngine } from '../../../services/runtime/kafka/types';
import { createMetrics } from '../../../services/runtime/metrics';
import { isOneOf, type Processor } from '../../../services/runtime/processor';
import { ProcessorRunner, type RunnerCodec } from '../../../services/runtime/runner';
import { conflictReported } from '../../support/events';

/** A codec stand-in: a record's value is the index of its event in `log`; an output's value names it. */
function fakeCodec(log: readonly SolvermeshEvent[]): RunnerCodec {
  const decodeKnown = (value: Buffer | null | undefined) => ({ event: log[value!.readUInt32BE(0)]!, schemaId: 1 });
  const encodeKnown = (topic: string, e: SolvermeshEvent) => Buffer.from(`${topic}:${e.type}:${e.meta.event_id}`);
  return { decodeKnown, decode: async (v) => decodeKnown(v), encodeKnown, encode: async (t, e) => encodeKnown(t, e) };
}

const unusedEngine: KafkaEngine = {
  kind: 'kafkajs',
  transactionalConsumer: () => { throw new Error('not used: the spec drives processBatch'); },
  producer: () => Promise.reject(new Error('not used')),
};

function runner(processor: Processor, log: readonly SolvermeshEvent[]): ProcessorRunner {
  return new ProcessorRunner({
    processor, engine: unusedEngine, codec: fakeCodec(log), metrics: createMetrics('runner-spec', false), logger: pino({ level: 'silent' }),
    groupId: 'g', topicPrefix: '', maxRetries: 0, retryBackoffMs: 1, stallTimeoutMs: 60_000,
  });
}

const batchOf = (topic: string, log: readonly SolvermeshEvent[]) => ({
  topic, partition: 0, highWatermark: String(log.length),
  records: log.map((event, i): InRecord => {
    const value = Buffer.alloc(4);
    value.writeUInt32BE(i);
    const key = keyOfTopic(topic)?.(event);
    return { topic, partition: 0, offset: String(i), key: key === undefined ? null : Buffer.from(key), value, headers: {}, timestamp: '0' };
  }),
});
const heartbeat = { heartbeat: async () => undefined };

describe('runtime/runner: events dispatched by the types a processor accepts', () => {
  it('given reports and the decisions they caused on one topic, when the coordinator handles the batch, then only the reports are decided and the rest passed over', async () => {
    // given
    const [r1, r2] = [conflictReported(1), conflictReported(2)];
    const log: SolvermeshEvent[] = [r1, ...decideConflict(r1), r2];
    // when
    const out = await runner(conflictProcessor(), log).processBatch(batchOf('mesh.conflicts', log), heartbeat);
    // then
    const want = [...decideConflict(r1), ...decideConflict(r2)].map((e) => `mesh.conflicts:${e.type}:${e.meta.event_id}`);
    assert.deepEqual(out.map((o) => o.value.toString()), want);
    assert.ok(out.every((o) => o.topic === 'mesh.conflicts'), 'no dead letter for the types passed over');
  });

  it('given a processor that accepts two types, when a batch holds three, then handle sees exactly the two', async () => {
    const seen: string[] = [];
    const spy: Processor<'ConflictReported' | 'ConflictEscalated'> = {
      name: 'spy', inputs: ['mesh.conflicts'], accepts: ['ConflictReported', 'ConflictEscalated'],
      handle(event) {
        switch (event.type) {
          case 'ConflictReported': seen.push(`report ${event.conflict_id}`); break;
          case 'ConflictEscalated': seen.push(`escalation ${event.level}`); break;
          default: unreachable(event);
        }
        return [];
      },
    };
    const report = conflictReported(3, { conflict_type: 'TEMPORAL_PARADOX' });
    const log: SolvermeshEvent[] = [report, ...decideConflict(report)];
    const out = await runner(spy, log).processBatch(batchOf('mesh.conflicts', log), heartbeat);
    assert.deepEqual(seen, ['report conflict-3', 'escalation SECTOR_COORDINATOR', 'escalation ORCHESTRATOR']);
    assert.deepEqual(out, [], 'the quarantine was passed over, not dead-lettered');
  });
});

describe('runtime: unreachable and isOneOf', () => {
  it('given a value outside a union at run time, when a switch reaches its default, then a non-retriable error names it', () => {
    // A type no schema has: only a bug gets one past the compiler, which is what this stands for.
    const outside = { type: 'NoSuchEvent' } as never;
    assert.throws(() => unreachable(outside), (err: unknown) => err instanceof SolvermeshError && err.code === 'HANDLER_FAILED' && !err.retriable && /event type NoSuchEvent/.test(err.message));
    assert.throws(() => unreachable('OTHER' as never), /value OTHER/);
  });

  it('given a list of types, then the guard holds for those types only and for no missing event', () => {
    const isReport = isOneOf(['ConflictReported']);
    const report = conflictReported(4);
    assert.equal(isReport(report), true);
    assert.equal(isReport(decideConflict(report)[0]), false);
    assert.equal(isReport(undefined), false);
  });
});

describe('runtime/runner: records keyed by their entity', () => {
  const report = conflictReported(1);
  const keyed = (key: string | null) => ({
    topic: 'mesh.conflicts', partition: 0, highWatermark: '1',
    records: [{ topic: 'mesh.conflicts', partition: 0, offset: '0', key: key === null ? null : Buffer.from(key), value: Buffer.alloc(4), headers: {}, timestamp: '0' }],
  });
  const handled: string[] = [];
  const processor: Processor<'ConflictReported'> = {
    name: 'keys', inputs: ['mesh.conflicts'], accepts: ['ConflictReported'],
    handle: (e) => { handled.push(e.conflict_id); return []; },
  };

  it('given a report keyed by another conflict id, or not keyed, when handled, then it is dead-lettered as MIS_KEYED and never reaches the processor', async () => {
    for (const key of ['someone-else', null]) {
      const out = await runner(processor as unknown as Processor, [report]).processBatch(keyed(key), heartbeat);
      assert.equal(out.length, 1);
      assert.match(out[0]!.topic, /mesh\.conflicts\.dlq$/);
      assert.equal(String(out[0]!.headers?.[DLQ_HEADERS.errorClass]), 'MIS_KEYED');
    }
    assert.deepEqual(handled, []);
  });

  it('given the report keyed by its own conflict id, when handled, then the processor gets it', async () => {
    await runner(processor as unknown as Processor, [report]).processBatch(keyed(report.conflict_id), heartbeat);
    assert.deepEqual(handled, [report.conflict_id]);
  });

  it('given a topic keyed by scope, then no key is demanded; given one keyed by correlation id, then meta.correlation_id is', () => {
    assert.equal(keyOfTopic('mesh.summaries'), undefined);
    assert.match(misKeyed(keyOfTopic('mesh.coordination'), Buffer.from('x'), { ...report, meta: { ...report.meta, correlation_id: 'c-1' } })!, /for "c-1" is keyed "x"/);
  });
});
