// One three-broker cluster of the spec's own (RF 3, min ISR 2, beside the shared single broker),
// shared by every case: each brings back the broker the case before killed, then kills one under
// a running service mid-stream. What must hold is exactly-once (nothing lost, no effect twice) and
// a service that goes on working through the rest of the stream.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { HeartbeatReceived, ImpedanceUpdated, IterationCompleted } from '../../schemas/generated/events';
import { foldHeartbeat, type AgentState } from '../../services/impedance/agent-fold';
import { RegistryStore } from '../../services/impedance/registry-store';
import { registryPrefix } from '../../services/impedance';
import type { RunningService } from '../../services/runtime/service';
import { costStream, openSession } from '../../services/solver/events';
import { poisson2d, smoothRhs } from '../../wasm/src/problems';
import { ensureInfra } from '../support/infra';
import { TestKafka } from '../support/kafka';
import { PrivateKafka } from '../support/private-kafka';
import { collectEvents, dumpRegistry, freePort, heartbeatRound, PrivateRedis, startImpedanceWith, waitCaughtUp } from '../int/impedance/support';
import { childrenOfEachTest, iterationsUntil, iterationsUntilConverged, send, startSolver } from '../int/solver/support';
import { assertOneDecisionEach, sendReports, startCoordinatorOn } from './support';

describe('three-broker cluster: losing a broker mid-stream', function () {
  this.timeout(420_000); // a cold three-broker start may take minutes (infra/kafka.sh waits up to 240 s)
  let cluster: PrivateKafka | undefined;
  const children = childrenOfEachTest();

  before(async function () {
    const env = await ensureInfra();
    if (env.KAFKA_BROKERS !== '127.0.0.1:9092') this.skip(); // brokers from elsewhere (containers, CI services): no infra/ to start a cluster with
    // Off the default ports, so it runs beside the single broker the other specs use.
    cluster = new PrivateKafka(3, 39092);
  });
  beforeEach(() => cluster!.start()); // brings back the broker an earlier case killed
  after(() => cluster?.destroy());

  // Inputs go through librdkafka: kafkajs's plain producer can lose acknowledged records when a
  // broker dies (tulios/kafkajs#1303; reproduced here, 33 of 200 gone).
  const topics = (label: string) => TestKafka.create(label, { brokers: cluster!.bootstrap, producer: 'rdkafka' });

  for (const engine of ['rdkafka', 'kafkajs'] as const) {
    it(`coordinator: keeps exactly one decision per report on the ${engine} engine when one of three brokers is killed`, async () => {
      const k = await topics(`rf3-${engine}`);
      let svc: RunningService | undefined;
      try {
        svc = await startCoordinatorOn(k, engine, `rf3-${engine}`);
        // given: a stream under way
        await sendReports(k, 0, 100);
        // when: broker 3 dies without warning
        cluster!.kill(3);
        await sendReports(k, 100, 200);
        // then: every report has exactly one committed quarantine decision
        // 120 s was once not enough in a full make test (rdkafka, no decision at all in 120 s; alone it
        // recovers in under 50 s; cause not found): the spec is about exactly-once, not recovery time.
        await assertOneDecisionEach(k, 200, 240_000);
      } finally {
        await svc?.stop().catch(() => undefined);
        await k.close().catch(() => undefined);
      }
    });
  }

  it('solver: IterationCompleted equals an uninterrupted run on the single broker when one of three brokers is killed mid-stream', async () => {
    const sid = randomUUID();
    const a = poisson2d(30);
    const open = openSession(sid, a, smoothRhs(a.n), { verificationInterval: 10 });
    const stream = costStream(sid, a.n, 1200, 30);
    const env = { SOLVER_SNAPSHOT_EVERY: '200', SOLVER_RECORD_WORK: '300000', SOLVER_SLICE_WORK: '200000' };
    // The reference on the shared broker, at the same time: the solver is deterministic, so its
    // outputs must match bit for bit (but the wall-clock iteration time and the output offsets).
    const ref = await TestKafka.create('rf3-solver-ref');
    const k = await topics('rf3-solver');
    try {
      children.push(startSolver(ref, env));
      const expected = (async () => {
        await send(ref, 'solver.sessions', open);
        await send(ref, 'solver.costs', stream, 100);
        return iterationsUntilConverged(ref, sid, stream.length - 1, 300_000);
      })();
      children.push(startSolver(k, { ...env, KAFKA_BROKERS: cluster!.bootstrap }));
      // given: a session solving, half its cost stream folded
      await send(k, 'solver.sessions', open);
      await send(k, 'solver.costs', stream.slice(0, 600), 100);
      await iterationsUntil(k, sid, (its) => its.length > 0, 120_000);
      // when: broker 2 dies without warning, and the rest of the stream comes
      cluster!.kill(2);
      await send(k, 'solver.costs', stream.slice(600), 100);
      // then: no iteration lost, none twice, each equal to the uninterrupted run's
      const got = await iterationsUntilConverged(k, sid, stream.length - 1, 300_000);
      const strip = (list: IterationCompleted[]) => list.map((e) => ({ ...e, iteration_time_ms: 0, offset: 0 }));
      const want = await expected;
      assert.equal(got.length, want.length, `iteration events: ${got.length} with a broker killed, ${want.length} uninterrupted`);
      assert.deepStrictEqual(strip(got), strip(want));
    } finally {
      await ref.close().catch(() => undefined);
      await k.close().catch(() => undefined);
    }
  });

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
      // when: the broker coordinating the service's group dies without warning, and the stream
      // goes on (librdkafka's sendOffsetsToTransaction may then never return: rdkafka-engine.ts)
      cluster!.kill(cluster!.groupCoordinator(`${k.prefix}solvermesh.impedance`));
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
