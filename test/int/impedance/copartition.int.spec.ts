import assert from 'node:assert/strict';
import Redis from 'ioredis';
import type { AckReceived, HeartbeatReceived } from '../../../schemas/generated/events';
import { registryPrefix } from '../../../services/impedance';
import type { RunningService } from '../../../services/runtime/service';
import { TestKafka, waitFor } from '../../support/kafka';
import { ackOf, hb, S } from '../../unit/impedance/helpers';
import { freePort, PrivateRedis, startImpedance, waitCaughtUp } from './support';

const AGENTS = 60;
const T = Math.floor(Date.now() / 5_000_000) * 5_000_000 * 1000;
const id = (i: number) => `S00${i % 2}-C0${i % 4}-A${String(i).padStart(2, '0')}`;

describe('impedance service: two instances in one group own co-partitioned heartbeats and agent acks together', function () {
  this.timeout(120_000);
  let k: TestKafka;
  let redisSrv: PrivateRedis;
  let redis: Redis;
  const svcs: RunningService[] = [];

  before(async () => {
    k = await TestKafka.create('impedance-copart');
    redisSrv = new PrivateRedis(await freePort());
    await redisSrv.start();
    redis = new Redis(redisSrv.url);
  });
  after(async () => {
    for (const s of svcs) await s.stop();
    redis?.disconnect();
    await redisSrv?.stop();
    await k?.close();
  });

  it('given two instances, when 60 agents heartbeat and each acks two messages, then every agent counts its 3 heartbeats + 2 acks (no ack folded where its agent is not)', async () => {
    // given two instances of the service in one consumer group (6 partitions per topic)
    svcs.push(await startImpedance(k, redisSrv.url, { INSTANCE_ID: 'copart-a' }));
    svcs.push(await startImpedance(k, redisSrv.url, { INSTANCE_ID: 'copart-b' }));
    const beats: HeartbeatReceived[] = [];
    for (let r = 0; r < 3; r++) for (let i = 0; i < AGENTS; i++) beats.push(hb({ agent: id(i), at: T + r * 5 * S + i * 1000, cluster: id(i).slice(0, 8), sector: id(i).slice(0, 4) }));
    await k.sendEvents('mesh.heartbeats', beats.map((e) => ({ key: e.agent_id, event: e as never })));
    await waitCaughtUp(k, 'mesh.heartbeats');
    // when every agent acks two messages, keyed by correlation id (other partitions than its heartbeats)
    const acks: AckReceived[] = [];
    for (const m of [1, 2]) for (let i = 0; i < AGENTS; i++) acks.push(ackOf({ agent: id(i), at: T + 11 * S + m * S, message: `m${m}`, lateMs: i % 3 === 0 ? 900 : 0 }));
    await k.sendEvents('mesh.acks', acks.map((e) => ({ key: e.meta.correlation_id, event: e as never })));
    await waitCaughtUp(k, 'mesh.acks');
    await waitCaughtUp(k, 'mesh.agent-acks', 60_000, true);
    // then each agent's registry entry is at revision 5, its reliability counting the acks
    const prefix = registryPrefix(k.prefix);
    await waitFor(async () => {
      const revs = await Promise.all(Array.from({ length: AGENTS }, (_, i) => redis.hget(`${prefix}agent:${id(i)}`, 'rev')));
      return revs.every((r) => r === '5');
    }, 30_000, 'every agent at 3 heartbeats + 2 acks');
    for (let i = 0; i < AGENTS; i += 7) {
      const rel = Number(await redis.hget(`${prefix}agent:${id(i)}`, 'rel'));
      assert.equal(rel, i % 3 === 0 ? 3 / 5 : 1, id(i));
    }
    // and both instances did fold (the work was split)
    const folded = svcs.map((s) => s.runner.health().partitions.filter((p) => p.topic.endsWith('mesh.agent-acks')).length);
    assert.ok(folded.every((n) => n > 0), `agent-acks partitions per instance: ${folded.join(', ')}`);
  });
});
