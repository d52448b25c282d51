import assert from 'node:assert/strict';
import type { SolvermeshEvent } from '../../../schemas/generated/events';
import { combineProcessors } from '../../../services/runtime/combine';
import type { Processor, RecordContext } from '../../../services/runtime/processor';
import { conflictReported } from '../../support/events';

const ctx = (topic: string, partition = 0): RecordContext => ({ topic, partition, offset: '0', timestampMs: 0, key: null });

function recording(name: string, inputs: string[], accepts: Processor['accepts']): Processor & { seen: string[]; hooks: string[] } {
  const seen: string[] = [];
  const hooks: string[] = [];
  return {
    name, inputs, accepts, seen, hooks,
    handle(e: SolvermeshEvent, c: RecordContext) { seen.push(`${c.topic}:${e.type}`); return [{ topic: 'out', key: name, event: e }]; },
    onAssigned(list) { hooks.push(`assigned ${list.map((x) => `${x.topic}/${x.partition}`).join(',')}`); },
    onRevoked(list) { hooks.push(`revoked ${list.map((x) => `${x.topic}/${x.partition}`).join(',')}`); },
    onAbort() { hooks.push('abort'); },
  };
}

describe('combineProcessors: one service, a processor per concern', () => {
  const a = recording('a', ['mesh.conflicts'], ['ConflictReported']);
  const b = recording('b', ['mesh.acks'], ['AckReceived', 'ConflictReported']);
  const both = combineProcessors('both', [a, b]);

  it('reads the union of the inputs and accepts the union of the types', () => {
    assert.deepEqual(both.inputs, ['mesh.conflicts', 'mesh.acks']);
    assert.deepEqual([...both.accepts].sort(), ['AckReceived', 'ConflictReported']);
  });

  it('given a record, then only the processor that reads its topic and accepts its type handles it', async () => {
    const report = conflictReported(1);
    const out1 = await both.handle(report, ctx('mesh.conflicts'));
    const out2 = await both.handle(report, ctx('mesh.acks'));
    assert.deepEqual([a.seen, b.seen], [['mesh.conflicts:ConflictReported'], ['mesh.acks:ConflictReported']]);
    assert.deepEqual([out1.map((o) => o.key), out2.map((o) => o.key)], [['a'], ['b']]);
  });

  it('given partition hooks and an abort, then each processor hears of its own topics and of every abort', async () => {
    await both.onAssigned!([{ topic: 'mesh.conflicts', partition: 1 }, { topic: 'mesh.acks', partition: 2 }]);
    await both.onRevoked!([{ topic: 'mesh.acks', partition: 2 }]);
    await both.onAbort!();
    assert.deepEqual(a.hooks, ['assigned mesh.conflicts/1', 'abort']);
    assert.deepEqual(b.hooks, ['assigned mesh.acks/2', 'revoked mesh.acks/2', 'abort']);
  });
});
