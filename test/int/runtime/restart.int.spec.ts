import assert from 'node:assert/strict';
import { conflictReported } from '../../support/events';
import { readLog } from '../../../services/runtime/kafka/log-reader';
import { topicSpec } from '../../../topics/catalog';
import { TestKafka, waitFor } from '../../support/kafka';
import { spawnCli, type Child } from '../../support/process';

const TOTAL = 600;

for (const engine of ['kafkajs', 'rdkafka'] as const) {
  describe(`exactly-once across SIGTERM and SIGKILL on the ${engine} engine`, function () {
    this.timeout(240_000);
    let k: TestKafka;
    let child: Child | undefined;

    before(async () => { k = await TestKafka.create(`restart-${engine}`); });
    after(async () => {
      child?.proc.kill('SIGKILL');
      await k?.close();
    });

    const start = () => spawnCli(['run', 'coordinator'], {
      ...process.env, TOPIC_PREFIX: k.prefix, KAFKA_CLIENT: engine, HTTP_PORT: '0', LOG_LEVEL: 'info',
      // Stable across restarts, like a pod name: the restarted producer fences the dead one.
      INSTANCE_ID: `restart-${engine}`,
    });

    it('produces exactly one quarantine decision per report although the service is stopped twice mid-stream', async () => {
      // given: the coordinator consuming a steady stream of conflict reports
      child = start();
      let sent = 0;
      const produce = async (upTo: number) => {
        while (sent < upTo) {
          const burst = Array.from({ length: Math.min(20, upTo - sent) }, (_, i) => sent + i);
          await k.sendEvents('mesh.conflicts', burst.map((n) => ({ key: `conflict-${n}`, event: conflictReported(n) })));
          sent += burst.length;
          await new Promise((r) => setImmediate(r));
        }
      };
      const stream = produce(TOTAL / 3);
      await waitFor(() => child!.output().includes('runner started'), 30_000, 'the service to start');
      await stream;

      // when: SIGTERM while records flow; it drains and exits 0
      const streaming = produce((2 * TOTAL) / 3);
      child.proc.kill('SIGTERM');
      const term = await child.exited;
      assert.equal(term.code, 0, `graceful exit expected, got ${JSON.stringify(term)}\n${child.output().slice(-2000)}`);
      await streaming;

      // and: restarted, then killed without warning mid-stream
      child = start();
      await waitFor(() => child!.output().includes('runner started'), 30_000, 'the service to restart');
      const rest = produce(TOTAL);
      await waitFor(() => child!.output().includes('partitions assigned'), 30_000, 'partitions to be assigned');
      child.proc.kill('SIGKILL');
      await child.exited;
      await rest;

      // then: after a final restart every report has exactly one committed quarantine decision
      child = start();
      // Until every report has a quarantine: a count of records was also met by escalations, so
      // on a loaded machine the spec judged before the restarted service had caught up.
      const quarantinedIds = new Set<string>();
      await k.collectEvents('mesh.conflicts', (e) => {
        const last = e.at(-1);
        if (last?.type === 'ConflictQuarantined') quarantinedIds.add(last.conflict_id);
        return quarantinedIds.size >= TOTAL;
      }, 120_000);
      // Drained and stopped, then the whole log to its end: a decision written twice after the
      // last first one would be missed by a read that stopped there.
      child.proc.kill('SIGTERM');
      assert.equal((await child.exited).code, 0);
      const events = (await readLog(k.brokers, k.codec, [...Array(topicSpec('mesh.conflicts').partitions).keys()].map((partition) => ({ topic: k.topic('mesh.conflicts'), partition, from: 0 })))).map((r) => r.event!).filter(Boolean);
      const quarantined = events.filter((e) => e.type === 'ConflictQuarantined');
      const perConflict = new Map<string, number>();
      for (const q of quarantined) perConflict.set(q.conflict_id, (perConflict.get(q.conflict_id) ?? 0) + 1);
      const duplicated = [...perConflict].filter(([, n]) => n > 1);
      assert.deepEqual(duplicated, [], 'no decision may be produced twice');
      assert.equal(perConflict.size, TOTAL, 'no report may be lost');
      assert.equal(events.filter((e) => e.type === 'ConflictReported').length, TOTAL);
    });
  });
}
