// The only broker restarted under a running service (issue 15, "broker restarted"): the service
// rides out the time the cluster is gone (longer than its group session), reconnects, and every report still has exactly one
// decision. The broker is the spec's own (its ports and data), never the shared one.
import assert from 'node:assert/strict';
import { coordinatorService } from '../../services/coordinator';
import { SESSION_TIMEOUT_MS } from '../../services/runtime/kafka/membership';
import { startService, type RunningService } from '../../services/runtime/service';
import { conflictReported } from '../support/events';
import { ensureInfra } from '../support/infra';
import { TestKafka } from '../support/kafka';
import { PrivateKafka } from '../support/private-kafka';

describe('single broker restarted under a running service', function () {
  this.timeout(300_000);
  let broker: PrivateKafka | undefined;

  before(async function () {
    const env = await ensureInfra();
    if (env.KAFKA_BROKERS !== '127.0.0.1:9092') this.skip(); // brokers from elsewhere (containers, CI services): no infra/ to start one with
    broker = new PrivateKafka(1, 39392);
  });
  beforeEach(() => broker!.start());
  after(() => broker?.destroy());

  for (const [engine, how] of [['rdkafka', 'SIGKILL'], ['kafkajs', 'SIGTERM']] as const) {
    it(`coordinator on the ${engine} engine: after a ${how} restart of the broker mid-stream, every report has exactly one decision`, async () => {
      const k = await TestKafka.create(`restart-${engine}`, { brokers: broker!.bootstrap, producer: 'rdkafka' });
      let svc: RunningService | undefined;
      try {
        svc = await startService(coordinatorService, {
          ...process.env, KAFKA_BROKERS: broker!.bootstrap, KAFKA_CLIENT: engine, TOPIC_PREFIX: k.prefix, HTTP_PORT: '0',
          LOG_LEVEL: process.env.SPEC_LOG_LEVEL ?? 'silent', INSTANCE_ID: `restart-${engine}`,
        });
        const send = (from: number, to: number) =>
          k.sendEvents('mesh.conflicts', Array.from({ length: to - from }, (_, i) => ({ key: `conflict-${from + i}`, event: conflictReported(from + i) })));
        // given: a stream under way, decided
        await send(0, 100);
        await k.collect('mesh.conflicts', (r) => r.length >= 200, 120_000);
        // when: the broker goes away for longer than the consumer's session (librdkafka then drops
        // its member id, and the restarted coordinator still holds the static member from before)
        // and comes back on its data
        if (how === 'SIGKILL') broker!.kill(1);
        else broker!.stop();
        await new Promise((r) => setTimeout(r, SESSION_TIMEOUT_MS + 5_000));
        broker!.start();
        await send(100, 200);
        // then: the service reconnected and decided the rest; no report decided twice
        const events = await k.decodeAll(await k.collect('mesh.conflicts', (r) => r.length >= 400, 180_000));
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
