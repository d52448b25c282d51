import assert from 'node:assert/strict';
import type { SolvermeshEvent } from '../../../schemas/generated/events';
import { coordinatorService } from '../../../services/coordinator';
import { DLQ_HEADERS } from '../../../services/runtime/dead-letter';
import { startService, type RunningService } from '../../../services/runtime/service';
import { frame } from '../../../services/runtime/wire-format';
import { conflictReported } from '../../support/events';
import { TestKafka } from '../../support/kafka';

for (const engine of ['kafkajs', 'rdkafka'] as const) {
  describe(`dead-letter policy on the ${engine} engine`, function () {
    this.timeout(120_000);
    let k: TestKafka;
    let svc: RunningService;

    before(async () => {
      k = await TestKafka.create(`dlq-${engine}`);
      svc = await startService(coordinatorService, {
        ...process.env, TOPIC_PREFIX: k.prefix, KAFKA_CLIENT: engine, HTTP_PORT: '0', LOG_LEVEL: 'silent', INSTANCE_ID: `dlq-${engine}`, SCHEMA_ID_GRACE_MS: '1000',
      });
    });
    after(async () => {
      await svc?.stop();
      await k?.close();
    });

    it('sends garbage bytes, unknown schema ids and mis-keyed records to mesh.conflicts.dlq with the reason, and goes on with the next good record', async () => {
      // given: garbage, a frame naming a schema id the registry never issued, a report keyed by
      // another conflict's id (it would land on a partition that does not own it), then a valid report
      await k.sendRaw('mesh.conflicts', [
        { key: 'bad-1', value: Buffer.from('definitely not avro') },
        { key: 'bad-2', value: frame(987_654, Buffer.from([1, 2, 3])) },
      ]);
      await k.sendEvents('mesh.conflicts', [{ key: 'not-its-id', event: conflictReported(9) }]);
      await k.sendEvents('mesh.conflicts', [{ key: 'conflict-1', event: conflictReported(1) }]);

      // then: both bad records are dead-lettered, raw, with headers naming error and source
      const dead = await k.collect('mesh.conflicts.dlq', (r) => r.length >= 3);
      const byKey = new Map(dead.map((d) => [d.key, d]));
      const garbage = byKey.get('bad-1')!;
      assert.equal(garbage.value?.toString(), 'definitely not avro');
      assert.equal(garbage.headers[DLQ_HEADERS.errorClass], 'DECODE_FAILED');
      assert.match(garbage.headers[DLQ_HEADERS.errorMessage]!, /magic byte/);
      assert.equal(garbage.headers[DLQ_HEADERS.sourceTopic], k.topic('mesh.conflicts'));
      assert.match(garbage.headers[DLQ_HEADERS.sourcePartition]!, /^\d+$/);
      assert.match(garbage.headers[DLQ_HEADERS.sourceOffset]!, /^\d+$/);
      const unknownId = byKey.get('bad-2')!;
      assert.equal(unknownId.headers[DLQ_HEADERS.errorClass], 'UNKNOWN_SCHEMA_ID');
      assert.match(unknownId.headers[DLQ_HEADERS.errorMessage]!, /987654/);
      const misKeyed = byKey.get('not-its-id')!;
      assert.equal(misKeyed.headers[DLQ_HEADERS.errorClass], 'MIS_KEYED');
      assert.match(misKeyed.headers[DLQ_HEADERS.errorMessage]!, /ConflictReported for "conflict-9" is keyed "not-its-id"/);

      // and: the good record after them is still processed
      // (4 inputs, then 1 output: a priority-2 conflict is quarantined, not escalated)
      // (its deadline tick shares the topic and can land before the decision: read on until it is there)
      let events: SolvermeshEvent[] = [];
      for (let n = 5; !events.some((e) => e.type === 'ConflictQuarantined'); n++) {
        events = await k.decodeAll((await k.collect('mesh.conflicts', (r) => r.length >= n)).filter((r) => r.key === 'conflict-1'));
      }
      const quarantined = events.filter((e) => e.type === 'ConflictQuarantined');
      assert.equal(quarantined.length, 1);
      assert.equal(quarantined[0]!.priority, 2);

      // and: the service counted the dead letters and stays healthy
      const metrics = await (await fetch(`http://127.0.0.1:${svc.ops.port}/metrics`)).text();
      assert.match(metrics, /solvermesh_dlq_total\{[^}]*error_class="DECODE_FAILED"[^}]*\} 1/);
      const health = await fetch(`http://127.0.0.1:${svc.ops.port}/health`);
      assert.equal(health.status, 200);
    });
  });
}
