import assert from 'node:assert/strict';
import { readLog } from '../../../services/runtime/kafka/log-reader';
import { conflictReported } from '../../support/events';
import { TestKafka } from '../../support/kafka';
import { SOLVER_PARTITIONS } from '../../../topics/catalog';

describe('log reader (restores and replay)', function () {
  this.timeout(60_000);
  let k: TestKafka;
  before(async () => {
    k = await TestKafka.create('reader');
    // all on one key, so on one partition, in this order
    await k.sendEvents('mesh.conflicts', [1, 2, 3].map((n) => ({ key: 'one-key', event: conflictReported(n) })));
    await k.sendRaw('mesh.conflicts', [{ key: 'one-key', value: Buffer.from('not avro at all') }]);
  });
  after(() => k?.close());

  const partitionOf = async () => (await k.collect('mesh.conflicts', (r) => r.length >= 4))[0]!.partition;

  it('reads a partition to its end, decoding what decodes and keeping the rest raw', async () => {
    const partition = await partitionOf();
    const records = await readLog(k.brokers, k.codec, [{ topic: k.topic('mesh.conflicts'), partition, from: 0 }]);
    assert.deepEqual(records.map((r) => r.offset), [0, 1, 2, 3]);
    assert.deepEqual(records.map((r) => (r.event?.type === 'ConflictReported' ? r.event.conflict_id : r.event?.type)), ['conflict-1', 'conflict-2', 'conflict-3', undefined]);
    assert.equal(records[3]!.value?.toString(), 'not avro at all');
  });

  it('stops at an exclusive end offset and starts at a given one', async () => {
    const partition = await partitionOf();
    const records = await readLog(k.brokers, k.codec, [{ topic: k.topic('mesh.conflicts'), partition, from: 1, to: 3 }]);
    assert.deepEqual(records.map((r) => r.offset), [1, 2]);
  });

  it('returns nothing for an empty range without touching the broker', async () => {
    assert.deepEqual(await readLog(k.brokers, k.codec, [{ topic: k.topic('mesh.conflicts'), partition: 0, from: 5, to: 5 }]), []);
  });

  it('given topics created a moment before, when one is read to its end at once, then it waits for their leaders instead of failing ("Not leader for partition" from the end-offset query)', async () => {
    const fresh = await TestKafka.create('reader-fresh');
    try {
      const records = await readLog(fresh.brokers, fresh.codec, [...Array(SOLVER_PARTITIONS).keys()].map((p) => ({ topic: fresh.topic('solver.iterations'), partition: p, from: 0 })));
      assert.deepEqual(records, []);
    } finally {
      await fresh.close();
    }
  });

  it('follows a partition past its end: records sent after the read began arrive, and it returns once the awaited one is in', async () => {
    const partition = await partitionOf();
    const seen: string[] = [];
    const follow = readLog(k.brokers, k.codec, [{ topic: k.topic('mesh.conflicts'), partition, from: 4 }], {
      timeoutMs: 30_000,
      until: () => seen.includes('conflict-6'),
      onRecord: (r) => { seen.push(r.event?.type === 'ConflictReported' ? r.event.conflict_id : `not a report: ${r.event?.type}`); },
    });
    await new Promise((r) => setTimeout(r, 1500)); // the reader sits at the end
    await k.sendEvents('mesh.conflicts', [5, 6].map((n) => ({ key: 'one-key', event: conflictReported(n) })));
    await follow;
    assert.deepEqual(seen, ['conflict-5', 'conflict-6']);
  });

  it('given nothing comes, then a follow ends with an error at its timeout', async () => {
    const partition = await partitionOf();
    await assert.rejects(
      readLog(k.brokers, k.codec, [{ topic: k.topic('mesh.conflicts'), partition, from: 0 }], { timeoutMs: 2_000, until: () => false }),
      /what was awaited did not come within 2000 ms/,
    );
  });
});
