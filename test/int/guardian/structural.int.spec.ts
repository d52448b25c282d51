// Given the guardian against the real broker, registry and Redis, when a service's emitter
// (services/runtime/structural.ts) reports registry writes to the real Redis that took longer
// than their limit, then the observations land on mesh.witnesses outside any transaction, the
// guardian copies them onto mesh.guardian and folds them: `mesh health` monitors the component.
import assert from 'node:assert/strict';
import pino from 'pino';
import type { StructuralEventObserved } from '../../../schemas/generated/events';
import type { GuardianHealth } from '../../../services/guardian/health';
import { foldHeartbeat } from '../../../services/impedance/agent-fold';
import { connectRedis, RegistryStore, unlinkPrefixed } from '../../../services/impedance/registry-store';
import { createRdkafkaEngine } from '../../../services/runtime/kafka/rdkafka-engine';
import { StructuralEmitter } from '../../../services/runtime/structural';
import { ensureInfra } from '../../support/infra';
import { TestKafka } from '../../support/kafka';
import { runCli } from '../../support/process';
import { hb, S } from '../../unit/impedance/helpers';
import { startRun, childrenOfEachTest } from '../solver/support';
import { startImpedance } from '../impedance/support';
import { registryPrefix } from '../../../services/impedance';
import type { RunningService } from '../../../services/runtime/service';
import { readTopic, until } from './support';

describe('structural events from the services into the guardian', function () {
  this.timeout(180_000);
  const children = childrenOfEachTest();
  let k: TestKafka;
  afterEach(async () => { await k?.close(); });

  it('given registry writes slower than their limit, then StructuralEventObserved RESOURCE_SPIKEs on mesh.witnesses that the guardian folds (mesh health: 1 component monitored)', async () => {
    const infra = await ensureInfra();
    k = await TestKafka.create('guardian-structural');
    children.push(startRun(k, ['guardian'], { GUARDIAN_TICK_MS: '0' }));
    const redis = connectRedis(infra.REDIS_URL);
    const store = new RegistryStore(redis, `${k.prefix}mesh:`);
    const logger = pino({ level: 'silent' });
    const engine = createRdkafkaEngine({ brokers: k.brokers, clientId: 'structural-spec', instanceId: 'spec', logger });
    const emitter = new StructuralEmitter({ component: 'impedance', producer: () => engine.producer(), codec: k.codec, topicPrefix: k.prefix, logger });
    try {
      // Real writes of one agent each; a limit of 0 ms makes every one of them slow.
      const t0 = Date.now() * 1000;
      for (let i = 0; i < 3; i++) {
        const agent = foldHeartbeat(undefined, hb({ agent: `a${i}`, at: t0 + i * 1000, util: 0.5 }))!.agent;
        await emitter.timed('redis_write_ms', 0, () => store.writeAgents(0, [agent]), 'registry write');
      }
      await emitter.flush();
      const observed = await until('the observations on mesh.witnesses', () => readTopic(k, 'mesh.witnesses'), (es) => es.filter((e) => e.type === 'StructuralEventObserved').length >= 3);
      const spikes = observed.filter((e): e is StructuralEventObserved => e.type === 'StructuralEventObserved');
      assert.deepEqual(spikes.map((e) => [e.component_id, e.kind, e.resource]), Array(3).fill(['impedance', 'RESOURCE_SPIKE', 'redis_write_ms']));
      // value is the measured ms, latency_us the same rounded to a microsecond.
      for (const e of spikes) assert.ok(e.latency_us !== null && Math.abs(e.value! * 1000 - e.latency_us) <= 0.5, JSON.stringify(e));
      // The guardian sequences them onto mesh.guardian and folds them.
      await until('the copies on mesh.guardian', () => readTopic(k, 'mesh.guardian', 1), (es) => es.filter((e) => e.type === 'StructuralEventObserved').length >= 3);
      const env = { ...process.env, TOPIC_PREFIX: k.prefix, LOG_LEVEL: 'warn' };
      const health = await runCli(['mesh', 'health', '--json'], env);
      assert.equal(health.code, 0, health.stderr);
      const h = JSON.parse(health.stdout) as GuardianHealth;
      assert.equal(h.componentsMonitored, 1, health.stdout);
    } finally {
      await emitter.close();
      await unlinkPrefixed(redis, `${k.prefix}mesh:`);
      redis.disconnect();
    }
  });

  it('given the impedance service and an agent whose heartbeats report queue depths 0, 150, 160 and 20, then two QUEUE_DEPTH of the agent (up over 100 and back) on mesh.witnesses, which the guardian copies onto mesh.guardian', async () => {
    const infra = await ensureInfra();
    k = await TestKafka.create('guardian-agent-queue');
    children.push(startRun(k, ['guardian'], { GUARDIAN_TICK_MS: '0' }));
    let impedance: RunningService | undefined;
    const redis = connectRedis(infra.REDIS_URL);
    try {
      impedance = await startImpedance(k, infra.REDIS_URL);
      const t0 = Date.now() * 1000 - 60 * S;
      const beats = [0, 150, 160, 20].map((queue, i) => hb({ agent: 'q-agent', at: t0 + i * S, queue }));
      await k.sendEvents('mesh.heartbeats', beats.map((event) => ({ key: event.agent_id, event })));
      const isQueue = (e: { type: string }): e is StructuralEventObserved => e.type === 'StructuralEventObserved' && (e as StructuralEventObserved).kind === 'QUEUE_DEPTH';
      const witnessed = await until('the crossings on mesh.witnesses', async () => (await readTopic(k, 'mesh.witnesses')).filter(isQueue), (es) => es.length >= 2);
      assert.deepEqual(witnessed.map((e) => [e.component_id, e.queue_depth, e.meta.producer, e.meta.occurred_at]), [['q-agent', 150, 'impedance', t0 + S], ['q-agent', 20, 'impedance', t0 + 3 * S]]);
      await until('the copies on mesh.guardian', async () => (await readTopic(k, 'mesh.guardian', 1)).filter(isQueue), (es) => es.length === 2);
    } finally {
      await impedance?.stop();
      await unlinkPrefixed(redis, registryPrefix(k.prefix));
      redis.disconnect();
    }
  });
});
