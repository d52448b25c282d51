// Oversized records (issue 15): above the consumer's limit (MAX_RECORD_BYTES, on a topic whose
// max.message.bytes was raised past it) and just under the broker's own limit: one dead letter
// each, cut to fit with the original size in a header, and the partition moves on. Producers of
// ours (CLI, gateway) refuse such a record before sending anything.
import assert from 'node:assert/strict';
import type { SolvermeshEvent } from '../../../schemas/generated/events';
import { EventSender } from '../../../services/cli/event-sender';
import { coordinatorService } from '../../../services/coordinator';
import { loadConfig } from '../../../services/runtime/config';
import { DLQ_HEADERS, DLQ_MAX_RECORD_BYTES } from '../../../services/runtime/dead-letter';
import { startService, type RunningService } from '../../../services/runtime/service';
import { costUpdated } from '../../../services/solver/events';
import { conflictReported } from '../../support/events';
import { TestKafka } from '../../support/kafka';

describe('oversized records (issue 15)', function () {
  this.timeout(180_000);
  let k: TestKafka;
  let svc: RunningService | undefined;
  after(async () => { await svc?.stop(); await k?.close(); });

  it('given a 2 MiB record (the topic allows 4 MiB), one just under the broker\'s 1 MiB and one just under MAX_RECORD_BYTES before a valid report, then each gets one dead letter that fits, with its original size, and the report is decided', async () => {
    k = await TestKafka.create('oversized');
    const admin = k.kafka.admin();
    await admin.connect();
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: k.topic('mesh.conflicts'), configEntries: [{ name: 'max.message.bytes', value: String(4 * 1024 * 1024) }] }] });
    await admin.disconnect();
    svc = await startService(coordinatorService, { ...process.env, TOPIC_PREFIX: k.prefix, HTTP_PORT: '0', LOG_LEVEL: 'silent', INSTANCE_ID: 'oversized' });
    // given
    const huge = Buffer.alloc(2 * 1024 * 1024, 0x41);
    const brokerSized = Buffer.alloc(1_040_000, 0x42);
    const under = Buffer.alloc(990_000, 0x43);
    for (const value of [huge, brokerSized, under]) await k.sendRaw('mesh.conflicts', [{ key: 'conflict-1', value }]);
    await k.sendEvents('mesh.conflicts', [{ key: 'conflict-1', event: conflictReported(1) }]);
    // then one dead letter each, cut to fit, naming the original size
    const dead = await k.collect('mesh.conflicts.dlq', (r) => r.length >= 3, 90_000);
    assert.equal(dead.length, 3);
    const [big, broker, near] = dead as [typeof dead[0], typeof dead[0], typeof dead[0]];
    assert.deepEqual([big, broker, near].map((d) => d.headers[DLQ_HEADERS.errorClass]), ['OVERSIZED', 'OVERSIZED', 'DECODE_FAILED']);
    assert.match(big.headers[DLQ_HEADERS.errorMessage]!, /record of 2097152 bytes is over the 1000000-byte limit \(MAX_RECORD_BYTES\)/);
    assert.equal(big.headers[DLQ_HEADERS.originalSize], String(huge.length + 'conflict-1'.length));
    assert.equal(broker.headers[DLQ_HEADERS.originalSize], String(brokerSized.length + 'conflict-1'.length));
    assert.equal(near.headers[DLQ_HEADERS.originalSize], String(under.length + 'conflict-1'.length));
    for (const d of dead) {
      assert.equal(d.headers[DLQ_HEADERS.truncated], 'value');
      assert.ok(d.value!.length < DLQ_MAX_RECORD_BYTES && d.value!.length > 800_000, `kept ${d.value!.length} bytes`);
    }
    // and the partition moved on: the valid report after them is quarantined
    // (the report's deadline tick shares the topic, and can land before the decision's transaction
    // commits: read on until the decision is there)
    let events: SolvermeshEvent[] = [];
    for (let n = 5; !events.some((e) => e.type === 'ConflictQuarantined'); n++) {
      events = await k.decodeAll((await k.collect('mesh.conflicts', (r) => r.length >= n, 60_000)).slice(3));
    }
    assert.deepEqual(events.map((e) => e.type).filter((t) => t !== 'ConflictDeadlinePassed'), ['ConflictReported', 'ConflictQuarantined']);
  });

  it('given a cost update that encodes over MAX_RECORD_BYTES, when the CLI\'s sender sends it, then it refuses with the size and the limit, and nothing reaches the topic', async () => {
    const sender = await EventSender.connect(loadConfig({ ...process.env, TOPIC_PREFIX: k.prefix, MAX_RECORD_BYTES: '4096' }));
    try {
      const big = costUpdated('s-1', 1, { indices: Array.from({ length: 1000 }, (_, i) => i), values: Array.from({ length: 1000 }, () => 0.5) });
      await assert.rejects(sender.send('solver.costs', [big]), /CostUpdated encodes to \d+ bytes, over the 4096-byte record limit \(MAX_RECORD_BYTES\): split it .*nothing was sent/);
      const small = costUpdated('s-1', 2, { indices: [1], values: [0.5] });
      await sender.send('solver.costs', [small]);
      const recs = await k.collect('solver.costs', (r) => r.length >= 1);
      assert.deepEqual((await k.decodeAll(recs)).map((e) => e.meta.event_id), [small.meta.event_id]);
    } finally {
      await sender.close();
    }
  });
});
