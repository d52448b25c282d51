// A consumer fenced by its group (FENCED_INSTANCE_ID, fatal in librdkafka) is replaced, not left
// dead inside a running service (issue 15, found when the only broker restarted: the group
// coordinator fenced the service's heartbeat and the service consumed nothing more). Here the
// fence comes from another client joining under the service's own group.instance.id, the way a
// restarted broker's coordinator treats the old member, and which a spec can make happen at will.
import assert from 'node:assert/strict';
import { readLog } from '../../../services/runtime/kafka/log-reader';
import { cb, rd } from '../../../services/runtime/kafka/rdkafka-lib';
import { MESH_PARTITIONS } from '../../../topics/catalog';
import { conflictReported } from '../../support/events';
import { TestKafka, waitFor } from '../../support/kafka';
import { spawnCli, type Child } from '../../support/process';

describe('a fenced rdkafka consumer inside a running service', function () {
  this.timeout(180_000);
  let k: TestKafka;
  let child: Child | undefined;
  afterEach(async () => {
    child?.proc.kill('SIGKILL');
    await k?.close();
  });

  const report = (from: number, to: number) =>
    k.sendEvents('mesh.conflicts', Array.from({ length: to - from }, (_, i) => ({ key: `conflict-${from + i}`, event: conflictReported(from + i) })));
  /** Resolves once reports `0 .. n - 1` each have their quarantine committed; returns how many quarantines there are. */
  const decided = async (n: number): Promise<number> => {
    let count = 0;
    await waitFor(async () => {
      const records = await readLog(k.brokers, k.codec, [...Array(MESH_PARTITIONS).keys()].map((p) => ({ topic: k.topic('mesh.conflicts'), partition: p, from: 0 })));
      const quarantines = records.map((r) => r.event).filter((e) => e?.type === 'ConflictQuarantined').map((e) => e.conflict_id);
      count = quarantines.length;
      const ids = new Set(quarantines);
      return [...Array(n).keys()].every((i) => ids.has(`conflict-${i}`));
    }, 120_000, `decisions on reports 0..${n - 1}`);
    return count;
  };

  it('given a coordinator deciding reports, when another client joins its group under its INSTANCE_ID and leaves, then the service joins anew and decides every later report exactly once', async () => {
    k = await TestKafka.create('fenced');
    const instanceId = 'fenced-spec';
    child = spawnCli(['run', 'coordinator'], {
      ...process.env, TOPIC_PREFIX: k.prefix, KAFKA_CLIENT: 'rdkafka', HTTP_PORT: '0', LOG_LEVEL: 'info', INSTANCE_ID: instanceId,
    });
    // given: the service decides
    await report(0, 20);
    await decided(20);

    // when: an intruder takes the static member's place (the broker fences the service's
    // consumer) and, once it holds the partitions, goes away without leaving the group
    const intruder = new (rd().KafkaConsumer)({
      'metadata.broker.list': k.brokers.join(','), 'group.id': `${k.prefix}solvermesh.coordinator`, 'group.instance.id': instanceId,
      'enable.auto.commit': false, 'session.timeout.ms': 30_000, rebalance_cb: true,
    }, {});
    let assigned = false;
    intruder.on('rebalance', (err, assignment) => {
      if (err.code === rd().CODES.ERRORS.ERR__ASSIGN_PARTITIONS) { intruder.assign(assignment); assigned = true; } else intruder.unassign();
    });
    intruder.on('event.error', () => undefined); // fenced in turn once the service joins anew: expected
    await cb((done) => intruder.connect({}, (err) => done(err)));
    intruder.subscribe([k.topic('mesh.conflicts')]);
    intruder.consume(); // the group protocol runs inside the consume loop
    // (once the intruder holds them the group coordinator has fenced the service's member id)
    await waitFor(async () => assigned, 60_000, 'the intruder holding the group\'s partitions');
    await cb((done) => intruder.disconnect((err) => done(err)));

    // then: reports after the fence are decided, none twice
    await report(20, 40);
    const quarantines = await decided(40);
    assert.equal(quarantines, 40, 'a report decided twice');
    assert.match(child.output(), /fatal consumer error; joining again with a new consumer/, 'the service was not fenced: the spec tested nothing');
    assert.doesNotMatch(child.output(), /another live process running under this INSTANCE_ID/);
  });
});
