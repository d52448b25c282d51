import assert from 'node:assert/strict';
import Redis from 'ioredis';
import type { HeartbeatReceived, ImpedanceUpdated } from '../../../schemas/generated/events';
import { foldHeartbeat, type AgentState } from '../../../services/impedance/agent-fold';
import { RegistryStore } from '../../../services/impedance/registry-store';
import { collectEvents, dumpRegistry, heartbeatRound, startImpedanceWith, useImpedanceWorld, waitCaughtUp } from './support';

const AGENTS = 40;
const OUTAGE_MS = 30_000;
const T = Math.floor(Date.now() / 5_000_000) * 5_000_000 * 1000;

const round = (r: number) => heartbeatRound(T, AGENTS, r);

describe('impedance service: Redis down for 30 s while heartbeats flow', function () {
  this.timeout(150_000);
  const w = useImpedanceWorld('impedance-outage', { connect: false });

  it('pauses without dropping anything; afterwards the registry equals a run without the outage', async () => {
    // given the service folding a steady stream of heartbeats
    w.svc = await startImpedanceWith(w.k, w.redisSrv.url, { IMPEDANCE_CHECKPOINT_MS: '0' }, { MAX_RETRIES: '2', RETRY_BACKOFF_MS: '200' });
    const sent: HeartbeatReceived[] = [];
    let r = 0;
    const sendRound = async () => {
      const beats = round(r++);
      await w.k.sendEvents('mesh.heartbeats', beats.map((e) => ({ key: e.agent_id, event: e })));
      sent.push(...beats);
    };
    const pace = async (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) { await sendRound(); await new Promise((res) => setTimeout(res, 500)); }
    };
    await pace(3_000);
    await waitCaughtUp(w.k, 'mesh.heartbeats');

    // when Redis disappears for 30 s (and comes back empty: no persistence) while rounds keep coming
    await w.redisSrv.stop();
    await pace(OUTAGE_MS);
    await w.redisSrv.start();
    await pace(3_000);
    await waitCaughtUp(w.k, 'mesh.heartbeats', 120_000);

    // then every agent's registry entry is what a fold of all its heartbeats gives, written by the same store
    const expected = new Map<string, AgentState>();
    for (const b of sent) expected.set(b.agent_id, foldHeartbeat(expected.get(b.agent_id), b)!.agent);
    w.redis = new Redis(w.redisSrv.url);
    const reference = new RegistryStore(w.redis, 'reference:');
    await reference.writeAgents(0, [...expected.values()]);
    assert.deepEqual(await dumpRegistry(w.redis, w.prefix), await dumpRegistry(w.redis, 'reference:'));
    // and the changelog ends at every heartbeat folded exactly once
    const latest = new Map<string, ImpedanceUpdated>();
    await collectEvents(w.k, 'mesh.impedance', (es) => {
      const e = es[es.length - 1];
      if (e?.type === 'ImpedanceUpdated') latest.set(e.agent_id, e);
      return latest.size === AGENTS && [...latest.values()].every((u) => u.meta.sequence === r);
    }, 30_000);
  });
});
