import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { coordinatorService } from '../../services/coordinator';
import { startService, type RunningService } from '../../services/runtime/service';
import { conflictReported } from '../support/events';
import { ensureInfra } from '../support/infra';
import { TestKafka } from '../support/kafka';

const ROOT = join(__dirname, '..', '..');
// Off the default ports, so it runs beside the single broker the other specs use.
const infraEnv = { ...process.env, KAFKA_PORT_BASE: '39092' };
const kafkaSh = (...args: string[]) =>
  execFileSync('bash', [join(ROOT, 'infra', 'kafka.sh'), ...args], { env: infraEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

describe('three-broker cluster (make up BROKERS=3): losing a broker mid-stream', function () {
  this.timeout(420_000); // a cold three-broker start may take minutes (infra/kafka.sh waits up to 240 s)
  let bootstrap: string;

  before(async function () {
    const env = await ensureInfra();
    if (env.KAFKA_BROKERS !== '127.0.0.1:9092') this.skip(); // external brokers: not ours to start or kill
    bootstrap = kafkaSh('bootstrap', '3').trim();
  });
  after(() => { if (bootstrap) kafkaSh('stop', '3'); });

  for (const engine of ['rdkafka', 'kafkajs'] as const) {
    it(`keeps exactly one decision per report on the ${engine} engine when one of three brokers is killed (RF 3, min ISR 2)`, async () => {
      kafkaSh('start', '3'); // brings back a broker an earlier case killed
      // Inputs go through librdkafka: kafkajs's plain producer can lose acknowledged records
      // when a broker dies (tulios/kafkajs#1303; reproduced here, 33 of 200 gone).
      const k = await TestKafka.create(`rf3-${engine}`, { brokers: bootstrap, producer: 'rdkafka' });
      let svc: RunningService | undefined;
      try {
        svc = await startService(coordinatorService, {
          ...process.env, KAFKA_BROKERS: bootstrap, KAFKA_CLIENT: engine, TOPIC_PREFIX: k.prefix, HTTP_PORT: '0',
          LOG_LEVEL: process.env.SPEC_LOG_LEVEL ?? 'silent', INSTANCE_ID: `rf3-${engine}`,
        });
        const send = (from: number, to: number) =>
          k.sendEvents('mesh.conflicts', Array.from({ length: to - from }, (_, i) => ({ key: `conflict-${from + i}`, event: conflictReported(from + i) })));

        // given: a stream under way
        await send(0, 100);
        // when: broker 3 dies without warning
        process.kill(Number(readFileSync(join(ROOT, '.infra', 'run', 'kafka-3-3.pid'), 'utf8').trim()), 'SIGKILL');
        await send(100, 200);
        // then: every report has exactly one committed quarantine decision
        // 120 s was once not enough in a full make test (rdkafka, no decision at all in 120 s; alone it
        // recovers in under 50 s; cause not found): the spec is about exactly-once, not recovery time.
        const records = await k.collect('mesh.conflicts', (r) => r.length >= 400, 240_000);
        const events = await k.decodeAll(records);
        const ids = events.filter((e) => e.type === 'ConflictQuarantined').map((q) => q.conflict_id);
        assert.equal(events.filter((e) => e.type === 'ConflictReported').length, 200);
        assert.equal(ids.length, 200);
        assert.equal(new Set(ids).size, 200);
      } finally {
        await svc?.stop().catch(() => undefined);
        await k.close().catch(() => undefined);
      }
    });
  }
});
