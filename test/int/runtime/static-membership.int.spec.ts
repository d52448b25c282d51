// Static group membership: a service killed with SIGKILL and restarted under the same
// INSTANCE_ID decides new input well inside the session timeout (a dynamic member's restart
// waits for the dead member's session to expire first), and a service stopped with SIGTERM
// hands its partitions to the other instance just as soon (a static member that did not leave
// would hold them for the session timeout).
import assert from 'node:assert/strict';
import { Partitioners } from 'kafkajs';
import { readLog } from '../../../services/runtime/kafka/log-reader';
import { SESSION_TIMEOUT_MS } from '../../../services/runtime/kafka/membership';
import { MESH_PARTITIONS } from '../../../topics/catalog';
import { conflictReported } from '../../support/events';
import { TestKafka, waitFor } from '../../support/kafka';
import { spawnCli, type Child } from '../../support/process';

/** Report numbers from `from` on whose keys cover every mesh.conflicts partition (the services' murmur2). */
function onEveryPartition(from: number): number[] {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = [...Array(MESH_PARTITIONS).keys()].map((p) => ({ partitionErrorCode: 0, partitionId: p, leader: 1, replicas: [1], isr: [1] }));
  const byPartition = new Map<number, number>();
  for (let n = from; byPartition.size < MESH_PARTITIONS; n++) {
    const p = partitioner({ topic: 'mesh.conflicts', partitionMetadata, message: { key: conflictReported(n).conflict_id, value: null } });
    if (!byPartition.has(p)) byPartition.set(p, n);
  }
  return [...byPartition.values()];
}

for (const engine of ['rdkafka', 'kafkajs'] as const) {
  describe(`static group membership on the ${engine} engine`, function () {
    this.timeout(180_000);
    let k: TestKafka;
    const children: Child[] = [];
    before(async () => { k = await TestKafka.create(`static-${engine}`); });
    after(async () => {
      for (const c of children) c.proc.kill('SIGKILL');
      await k?.close();
    });

    const start = (instanceId: string) => {
      const child = spawnCli(['run', 'coordinator'], {
        ...process.env, TOPIC_PREFIX: k.prefix, KAFKA_CLIENT: engine, HTTP_PORT: '0', LOG_LEVEL: 'info', INSTANCE_ID: instanceId,
      });
      children.push(child);
      return child;
    };
    const report = (ns: number[]) => k.sendEvents('mesh.conflicts', ns.map((n) => ({ key: `conflict-${n}`, event: conflictReported(n) })));
    /** Resolves once every report in `ns` has its quarantine decision committed. */
    const decided = (ns: number[]) => waitFor(async () => {
      const records = await readLog(k.brokers, k.codec, [...Array(MESH_PARTITIONS).keys()].map((p) => ({ topic: k.topic('mesh.conflicts'), partition: p, from: 0 })));
      const ids = new Set(records.map((r) => r.event).filter((e) => e?.type === 'ConflictQuarantined').map((e) => e.conflict_id));
      return ns.every((n) => ids.has(`conflict-${n}`));
    }, 120_000, `decisions on reports ${ns.join(', ')}`);

    it('given a coordinator killed with SIGKILL, when it restarts under the same INSTANCE_ID, then it decides new reports within half the session timeout', async () => {
      // given: a coordinator that owns every partition and decides reports
      let child = start(`static-${engine}`);
      const before = onEveryPartition(0);
      await report(before);
      await decided(before);

      // when: killed without warning and started again under the same id
      child.proc.kill('SIGKILL');
      await child.exited;
      const killedAt = Date.now();
      child = start(`static-${engine}`);
      const after = onEveryPartition(1000);
      await report(after);

      // then: every partition is back and decides before a dead member's session would even expire
      await decided(after);
      const took = Date.now() - killedAt;
      assert.ok(took < SESSION_TIMEOUT_MS / 2, `reports after the restart were decided ${took} ms after the kill; a restart that waits out the session takes over ${SESSION_TIMEOUT_MS} ms\n${child.output().slice(-2000)}`);
      child.proc.kill('SIGTERM');
      assert.equal((await child.exited).code, 0);
    });

    it('given two coordinators, when one is stopped with SIGTERM, then the other decides reports on all partitions within half the session timeout', async () => {
      // given: two instances of the group, each owning some partitions
      const a = start(`static-${engine}-a`);
      const b = start(`static-${engine}-b`);
      const admin = k.kafka.admin();
      await admin.connect();
      try {
        await waitFor(async () => {
          const [g] = (await admin.describeGroups([`${k.prefix}solvermesh.coordinator`])).groups;
          return g?.state === 'Stable' && g.members.length === 2;
        }, 60_000, 'both instances to be members of a stable group');
        const before = onEveryPartition(2000);
        await report(before);
        await decided(before);

        // when: one instance is stopped gracefully
        a.proc.kill('SIGTERM');
        assert.equal((await a.exited).code, 0, a.output().slice(-2000));
        const stoppedAt = Date.now();
        const after = onEveryPartition(3000);
        await report(after);

        // then: the partitions it owned are decided by the other one at once
        await decided(after);
        const took = Date.now() - stoppedAt;
        assert.ok(took < SESSION_TIMEOUT_MS / 2, `reports after the stop were decided ${took} ms after it; a member that did not leave holds its partitions for ${SESSION_TIMEOUT_MS} ms\n${b.output().slice(-2000)}`);
      } finally {
        await admin.disconnect();
      }
      b.proc.kill('SIGTERM');
      assert.equal((await b.exited).code, 0);
    });
  });
}
