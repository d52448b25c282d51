import assert from 'node:assert/strict';
import type { AckReceived, HeartbeatReceived } from '../../../schemas/generated/events';
import { waitFor } from '../../support/kafka';
import { ackOf, hb, S } from '../../unit/impedance/helpers';
import { startImpedance, useImpedanceWorld, waitCaughtUp, waitGroupMembers } from './support';

const AGENTS = 60;
const T = Math.floor(Date.now() / 5_000_000) * 5_000_000 * 1000;
const id = (i: number) => `S00${i % 2}-C0${i % 4}-A${String(i).padStart(2, '0')}`;

describe('impedance service: two instances in one group own co-partitioned heartbeats and agent acks together', function () {
  this.timeout(120_000);
  const w = useImpedanceWorld('impedance-copart');

  it('given two instances, when 60 agents heartbeat and each acks two messages, then every agent counts its 3 heartbeats + 2 acks (no ack folded where its agent is not)', async () => {
    // given two instances of the service in one consumer group (6 partitions per topic)
    w.svcs.push(await startImpedance(w.k, w.redisSrv.url, { INSTANCE_ID: 'copart-a' }));
    w.svcs.push(await startImpedance(w.k, w.redisSrv.url, { INSTANCE_ID: 'copart-b' }));
    await waitGroupMembers(w.k, 2);
    const beats: HeartbeatReceived[] = [];
    for (let r = 0; r < 3; r++) for (let i = 0; i < AGENTS; i++) beats.push(hb({ agent: id(i), at: T + r * 5 * S + i * 1000, cluster: id(i).slice(0, 8), sector: id(i).slice(0, 4) }));
    await w.k.sendEvents('mesh.heartbeats', beats.map((e) => ({ key: e.agent_id, event: e })));
    await waitCaughtUp(w.k, 'mesh.heartbeats');
    // when every agent acks two messages, keyed by correlation id (other partitions than its heartbeats)
    const acks: AckReceived[] = [];
    for (const m of [1, 2]) for (let i = 0; i < AGENTS; i++) acks.push(ackOf({ agent: id(i), at: T + 11 * S + m * S, message: `m${m}`, lateMs: i % 3 === 0 ? 900 : 0 }));
    await w.k.sendEvents('mesh.acks', acks.map((e) => ({ key: e.meta.correlation_id, event: e })));
    await waitCaughtUp(w.k, 'mesh.acks');
    await waitCaughtUp(w.k, 'mesh.agent-acks', 60_000, true);
    // then each agent's registry entry is at revision 5, its reliability counting the acks
    await waitFor(async () => {
      const revs = await Promise.all(Array.from({ length: AGENTS }, (_, i) => w.redis.hget(`${w.prefix}agent:${id(i)}`, 'rev')));
      return revs.every((r) => r === '5');
    }, 30_000, 'every agent at 3 heartbeats + 2 acks');
    for (let i = 0; i < AGENTS; i += 7) {
      const rel = Number(await w.redis.hget(`${w.prefix}agent:${id(i)}`, 'rel'));
      assert.equal(rel, i % 3 === 0 ? 3 / 5 : 1, id(i));
    }
    // and both instances did fold (the work was split)
    const folded = w.svcs.map((s) => s.runner.health().partitions.filter((p) => p.topic.endsWith('mesh.agent-acks')).length);
    assert.ok(folded.every((n) => n > 0), `agent-acks partitions per instance: ${folded.join(', ')}`);
  });
});
