// The only broker restarted under a running service (issue 15, "broker restarted"): the service
// rides out the time the cluster is gone, reconnects, and every report still has exactly one
// decision. The broker is the spec's own (its ports and data), never the shared one.
import type { RunningService } from '../../services/runtime/service';
import { ensureInfra } from '../support/infra';
import { TestKafka } from '../support/kafka';
import { PrivateKafka } from '../support/private-kafka';
import { assertOneDecisionEach, sendReports, startCoordinatorOn } from './support';

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
        svc = await startCoordinatorOn(k, engine, `restart-${engine}`);
        // given: a stream under way, decided
        await sendReports(k, 0, 100);
        await k.collectEvents('mesh.conflicts', (es) => es.filter((e) => e.type === 'ConflictQuarantined').length >= 100, 120_000);
        // when: the broker goes away and comes back on its data
        if (how === 'SIGKILL') broker!.kill(1);
        else broker!.stop();
        await new Promise((r) => setTimeout(r, 5_000));
        broker!.start();
        await sendReports(k, 100, 200);
        // then: the service reconnected and decided the rest; no report decided twice
        await assertOneDecisionEach(k, 200, 180_000);
      } finally {
        await svc?.stop().catch(() => undefined);
        await k.close().catch(() => undefined);
      }
    });
  }
});
