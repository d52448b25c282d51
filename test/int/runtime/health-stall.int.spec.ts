// /health tells the truth about a service that never got past its first record: the lag is
// known from the first fetch, before anything commits.
import assert from 'node:assert/strict';
import { coordinatorService } from '../../../services/coordinator';
import { startService, type RunningService } from '../../../services/runtime/service';
import { conflictReported } from '../../support/events';
import { endOffsets } from '../../../services/runtime/kafka/log-reader';
import { dlqName } from '../../../topics/catalog';
import { TestKafka, waitFor } from '../../support/kafka';

for (const engine of ['rdkafka', 'kafkajs'] as const) {
  describe(`health of a service stuck on its first record (${engine})`, function () {
    this.timeout(120_000);
    let k: TestKafka;
    let svc: RunningService | undefined;

    before(async () => { k = await TestKafka.create(`stall-${engine}`); });
    after(async () => {
      await svc?.stop();
      await k?.close();
    });

    it('given a valid record it cannot decode (its registry is unreachable), when the stall timeout passes, then /health is 503 naming the partition and its lag', async () => {
      // given: one valid report, and a coordinator whose registry URL answers nothing
      await k.sendEvents('mesh.conflicts', [{ key: 'conflict-1', event: conflictReported(1) }]);
      svc = await startService(coordinatorService, {
        ...process.env, TOPIC_PREFIX: k.prefix, KAFKA_CLIENT: engine, HTTP_PORT: '0', LOG_LEVEL: 'silent', INSTANCE_ID: `stall-${engine}`,
        SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1/apis/ccompat/v7', STALL_TIMEOUT_MS: '1000', RETRY_BACKOFF_MS: '50', MAX_RETRIES: '2',
      });
      const health = async () => {
        const res = await fetch(`http://127.0.0.1:${svc!.ops.port}/health`);
        return { status: res.status, body: (await res.json()) as { reason?: string } };
      };

      // then: red, saying which partition is stuck where
      let red = await health();
      await waitFor(async () => (red = await health()).status === 503, 60_000, '/health 503');
      assert.match(red.body.reason ?? '', new RegExp(`no progress for \\d+ ms while lag exists: ${k.topic('mesh.conflicts').replace(/\./g, '\\.')}\\[\\d+\\] at offset 0, lag 1`));

      // and: nothing was dead-lettered for the registry's state
      const [dead] = await endOffsets(k.brokers, k.topic(dlqName('mesh.conflicts')), 1);
      assert.equal(dead, 0);
    });
  });
}
