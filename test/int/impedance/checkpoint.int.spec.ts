import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import type { HeartbeatReceived, ImpedanceUpdated } from '../../../schemas/generated/events';
import { foldHeartbeat, type AgentState } from '../../../services/impedance/agent-fold';
import { RegistryStore } from '../../../services/impedance/registry-store';
import { waitFor } from '../../support/kafka';
import { hb, S } from '../../unit/impedance/helpers';
import { collectEvents, dumpRegistry, startImpedanceWith, useImpedanceWorld, waitCaughtUp } from './support';

const AGENTS = 40;
const T = Math.floor(Date.now() / 5_000_000) * 5_000_000 * 1000;

const round = (r: number): HeartbeatReceived[] => Array.from({ length: AGENTS }, (_, i) => hb({
  agent: `S002-C0${i % 4}-A${String(i).padStart(2, '0')}`, at: T + r * 5 * S + i * 1000, cluster: `S002-C0${i % 4}`, sector: 'S002',
  cls: i % 2 ? 'CLASS_A_EDGE' : 'CLASS_C_PERSISTENT', latency: 10 + ((i * 5 + r * 11) % 40), processing: 5 + ((i + r) % 7), queue: r % 2,
}));

describe('impedance service: restart behind the last changelog checkpoint', function () {
  this.timeout(150_000);
  const w = useImpedanceWorld('impedance-checkpoint');

  it('replays the committed heartbeats after the checkpoint: registry and changelog as if nothing happened', async () => {
    const sent: HeartbeatReceived[] = [];
    const send = async (beats: HeartbeatReceived[]) => {
      await w.k.sendEvents('mesh.heartbeats', beats.map((e) => ({ key: e.agent_id, event: e })));
      sent.push(...beats);
    };
    const expectedRegistry = async () => {
      const expected = new Map<string, AgentState>();
      for (const b of sent) expected.set(b.agent_id, foldHeartbeat(expected.get(b.agent_id), b)!.agent);
      await w.redis.del(...((await w.redis.keys('reference:*')).concat('reference:none')));
      await new RegistryStore(w.redis, 'reference:').writeAgents(0, [...expected.values()]);
      return dumpRegistry(w.redis, 'reference:');
    };
    // given an instance that commits heartbeats but never reaches a changelog checkpoint
    w.svc = await startImpedanceWith(w.k, w.redisSrv.url, { IMPEDANCE_CHECKPOINT_MS: '3600000', IMPEDANCE_CAUGHT_UP_MS: '0', IMPEDANCE_REGISTRY_LAG_MS: '0' });
    for (const r of [0, 1, 2]) await send(round(r));
    await waitCaughtUp(w.k, 'mesh.heartbeats');
    const early = await collectEvents(w.k, 'mesh.impedance', (es) => es.some((e) => e.type === 'ImpedanceUpdated'), 3000).catch(() => []);
    assert.equal(early.filter((e) => e.type === 'ImpedanceUpdated').length, 0, 'no checkpoint yet');

    // when it is gone, Redis is emptied and a new instance starts
    await w.svc.stop();
    w.svc = undefined;
    await w.redis.flushall();
    w.svc = await startImpedanceWith(w.k, w.redisSrv.url, { IMPEDANCE_CHECKPOINT_MS: '0' });

    // then the registry is rebuilt from the heartbeats committed after the (missing) checkpoint
    const want = await expectedRegistry();
    await waitFor(async () => isDeepStrictEqual(await dumpRegistry(w.redis, w.prefix), want), 60_000, 'the registry of every committed heartbeat');

    // and the fold goes on from there: the next round lands on revision 4, checkpointed once caught up
    await send(round(3));
    await waitCaughtUp(w.k, 'mesh.heartbeats');
    const latest = new Map<string, ImpedanceUpdated>();
    await collectEvents(w.k, 'mesh.impedance', (es) => {
      const e = es[es.length - 1];
      if (e?.type === 'ImpedanceUpdated') latest.set(e.agent_id, e);
      return latest.size === AGENTS && [...latest.values()].every((u) => u.meta.sequence === 4);
    });
    assert.ok([...latest.values()].every((u) => u.applied_through !== null));
    const want4 = await expectedRegistry();
    await waitFor(async () => isDeepStrictEqual(await dumpRegistry(w.redis, w.prefix), want4), 30_000, 'the registry after round 3');
  });
});
