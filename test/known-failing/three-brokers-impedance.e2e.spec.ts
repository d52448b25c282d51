// Known to fail (issue 15, found in session 11): a broker of three killed under the impedance
// service. In about half the runs the service consumes nothing more after the kill, with no error
// logged past librdkafka's transport failures; the member stays in its group, so nothing takes its
// partitions over. The coordinator and solver cases (test/e2e/three-brokers.e2e.spec.ts) kill
// another broker and pass. Kept out of `make test` until the cause is found, run by
// `make test-known-failing`, so that the failure stays visible and reproducible.
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import type { HeartbeatReceived, ImpedanceUpdated } from '../../schemas/generated/events';
import { foldHeartbeat, type AgentState } from '../../services/impedance/agent-fold';
import { RegistryStore } from '../../services/impedance/registry-store';
import { registryPrefix } from '../../services/impedance';
import type { RunningService } from '../../services/runtime/service';
import { ensureInfra } from '../support/infra';
import { TestKafka } from '../support/kafka';
import { PrivateKafka } from '../support/private-kafka';
import { collectEvents, dumpRegistry, freePort, heartbeatRound, PrivateRedis, startImpedanceWith, waitCaughtUp } from '../int/impedance/support';

describe('three-broker cluster: losing a broker under the impedance service', function () {
  this.timeout(420_000);
  let cluster: PrivateKafka | undefined;

  before(async function () {
    const env = await ensureInfra();
    if (env.KAFKA_BROKERS !== '127.0.0.1:9092') this.skip(); // brokers from elsewhere: no infra/ to start a cluster with
    cluster = new PrivateKafka(3, 39092);
  });
  after(() => cluster?.destroy());

  const topics = (label: string) => TestKafka.create(label, { brokers: cluster!.bootstrap, producer: 'rdkafka' });

  it('impedance: every heartbeat folded exactly once, the registry equal to the fold of all of them, when one of three brokers is killed mid-stream', async () => {
    const AGENTS = 40;
    const ROUNDS = 16;
    const T = Math.floor(Date.now() / 5_000_000) * 5_000_000 * 1000;
    const round = (r: number) => heartbeatRound(T, AGENTS, r);
    const k = await topics('rf3-impedance');
    const redisSrv = new PrivateRedis(await freePort());
    await redisSrv.start();
    const redis = new Redis(redisSrv.url);
    let svc: RunningService | undefined;
    try {
      svc = await startImpedanceWith(k, redisSrv.url, { IMPEDANCE_CHECKPOINT_MS: '0', IMPEDANCE_MAX_BATCH_RECORDS: '40' }, { KAFKA_BROKERS: cluster!.bootstrap, INSTANCE_ID: 'rf3-impedance' });
      const sent: HeartbeatReceived[] = [];
      const sendRounds = async (from: number, to: number) => {
        for (let r = from; r < to; r++) {
          const beats = round(r);
          await k.sendEvents('mesh.heartbeats', beats.map((e) => ({ key: e.agent_id, event: e })));
          sent.push(...beats);
        }
      };
      // given: the service folding a stream of heartbeats
      await sendRounds(0, ROUNDS / 2);
      await waitCaughtUp(k, 'mesh.heartbeats', 120_000);
      // when: broker 1 dies without warning, and the stream goes on
      cluster!.kill(1);
      await sendRounds(ROUNDS / 2, ROUNDS);
      await waitCaughtUp(k, 'mesh.heartbeats', 240_000);
      // then: each agent's changelog ends at its last round, folded once per heartbeat (the
      // sequence counts folds: one lost is below ROUNDS, one folded twice above)
      const latest = new Map<string, ImpedanceUpdated>();
      await collectEvents(k, 'mesh.impedance', (es) => {
        const e = es[es.length - 1];
        if (e?.type === 'ImpedanceUpdated') latest.set(e.agent_id, e);
        return latest.size === AGENTS && [...latest.values()].every((u) => (u.meta.sequence ?? 0) >= ROUNDS);
      }, 120_000);
      assert.deepEqual([...latest.values()].map((u) => u.meta.sequence), Array(AGENTS).fill(ROUNDS));
      // and the registry is what a fold of every heartbeat gives, written by the same store
      const expected = new Map<string, AgentState>();
      for (const b of sent) expected.set(b.agent_id, foldHeartbeat(expected.get(b.agent_id), b)!.agent);
      await new RegistryStore(redis, 'reference:').writeAgents(0, [...expected.values()]);
      assert.deepEqual(await dumpRegistry(redis, registryPrefix(k.prefix)), await dumpRegistry(redis, 'reference:'));
    } finally {
      await svc?.stop().catch(() => undefined);
      redis.disconnect();
      await redisSrv.stop();
      await k.close().catch(() => undefined);
    }
  });
});
