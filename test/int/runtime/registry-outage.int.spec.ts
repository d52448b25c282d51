// The schema registry down for a while under a running service (issue 15, "registry down"): the
// records that came meanwhile keep their place (retried, the batch aborted and consumed again),
// none is dead-lettered because of the registry's state, and once it is back every one has its
// output, exactly once. The shared registry is not touched: the service reaches it through a
// pass-through the spec takes down.
import assert from 'node:assert/strict';
import { coordinatorService } from '../../../services/coordinator';
import { readLog } from '../../../services/runtime/kafka/log-reader';
import { startService, type RunningService } from '../../../services/runtime/service';
import { dlqName, TOPICS } from '../../../topics/catalog';
import { conflictReported } from '../../support/events';
import { ensureInfra } from '../../support/infra';
import { TestKafka } from '../../support/kafka';
import { TcpOutage } from '../../support/tcp-outage';
import type { SolvermeshEvent } from '../../../schemas/generated/events';

const OUTAGE_MS = 20_000;

describe('schema registry down under a running service', function () {
  this.timeout(180_000);
  let k: TestKafka;
  let svc: RunningService | undefined;
  let proxy: TcpOutage | undefined;
  afterEach(async () => {
    await svc?.stop().catch(() => undefined);
    await proxy?.down();
    await k?.close();
  });

  it(`given the registry gone for ${OUTAGE_MS / 1000} s while reports come, then none is dead-lettered, none decided meanwhile, and afterwards each has exactly one decision`, async () => {
    const env = await ensureInfra();
    const registry = new URL(env.SCHEMA_REGISTRY_URL);
    proxy = new TcpOutage({ host: registry.hostname, port: Number(registry.port) });
    await proxy.up();
    k = await TestKafka.create('registry-outage');
    svc = await startService(coordinatorService, {
      ...process.env, SCHEMA_REGISTRY_URL: proxy.url(registry.pathname), TOPIC_PREFIX: k.prefix, HTTP_PORT: '0',
      LOG_LEVEL: process.env.SPEC_LOG_LEVEL ?? 'silent', MAX_RETRIES: '2', RETRY_BACKOFF_MS: '200', INSTANCE_ID: 'registry-outage',
    });
    const reports = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => ({ key: `conflict-${from + i}`, event: conflictReported(from + i) }));
    // Everything committed on the topic so far, read to its end.
    const committed = (topic: string) => readLog(k.brokers, k.codec, [...Array(TOPICS.find((t) => t.name === topic)!.partitions).keys()]
      .map((partition) => ({ topic: k.topic(topic), partition, from: 0 })));
    // A dead letter holds the record's bytes as they came: not decoded.
    const deadLetters = () => readLog(k.brokers, k.codec, [{ topic: k.topic(dlqName('mesh.conflicts')), partition: 0, from: 0 }], { decode: false });
    const decisions = async () => (await committed('mesh.conflicts')).filter((r) => r.event?.type === 'ConflictQuarantined');

    // given: the registry goes away before the service has read a single report (so it has no
    // schema of its input cached) and reports come while it is away
    await proxy.down();
    await k.sendEvents('mesh.conflicts', reports(0, 50));
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    // then: meanwhile nothing decided and nothing dead-lettered (the outage did bite)
    assert.deepEqual(await decisions(), [], 'decided while the registry was down: the spec would not test the outage');
    assert.equal((await deadLetters()).length, 0, 'dead-lettered because the registry was down');

    // when: it comes back, and more reports come
    await proxy.up();
    await k.sendEvents('mesh.conflicts', reports(50, 100));
    // then: every report has exactly one decision, and no dead letter
    // (the topic carries other conflict events besides reports and quarantines: count quarantines)
    const quarantines = (events: readonly SolvermeshEvent[]) => events.filter((e) => e.type === 'ConflictQuarantined');
    await k.collectEvents('mesh.conflicts', (events) => quarantines(events).length >= 100, 120_000);
    const ids = (await decisions()).map((r) => (r.event as { conflict_id: string }).conflict_id);
    assert.equal(ids.length, 100);
    assert.equal(new Set(ids).size, 100);
    assert.deepEqual((await deadLetters()).map((d) => d.headers), []);
  });
});
