// A restart that meets mesh.impedance entries the service did not write (issue 15): each is
// refused with its reason, the agent restores from its last genuine checkpoint, and the
// registry is what the heartbeats make of it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { HeartbeatReceived, ImpedanceUpdated } from '../../../schemas/generated/events';
import { foldHeartbeat, type AgentState } from '../../../services/impedance/agent-fold';
import { RegistryStore } from '../../../services/impedance/registry-store';
import { waitFor } from '../../support/kafka';
import { hb, S } from '../../unit/impedance/helpers';
import { collectEvents, dumpRegistry, startImpedanceWith, useImpedanceWorld, waitCaughtUp } from './support';

const AGENTS = 12;
const T = Math.floor(Date.now() / 5_000_000) * 5_000_000 * 1000;
const agent = (i: number) => `S002-C0${i % 4}-A${String(i).padStart(2, '0')}`;
const KNOBS = { IMPEDANCE_CHECKPOINT_MS: '0', IMPEDANCE_CAUGHT_UP_MS: '0', IMPEDANCE_REGISTRY_LAG_MS: '0' };

const round = (r: number): HeartbeatReceived[] => Array.from({ length: AGENTS }, (_, i) => hb({
  agent: agent(i), at: T + r * 5 * S + i * 1000, cluster: `S002-C0${i % 4}`, sector: 'S002',
  cls: 'CLASS_C_PERSISTENT', latency: 10 + ((i * 5 + r * 11) % 40), processing: 5 + ((i + r) % 7), queue: r % 2,
}));

describe('impedance service: forged changelog entries', function () {
  this.timeout(150_000);
  const w = useImpedanceWorld('impedance-forged');

  it('given entries it did not write (another producer, a made-up id, a position past the log, invalid values, an unknown agent), when a new instance restores, then it refuses each and the registry is the heartbeats\' own', async () => {
    const sent: HeartbeatReceived[] = [];
    const send = async (beats: HeartbeatReceived[]) => {
      await w.k.sendEvents('mesh.heartbeats', beats.map((e) => ({ key: e.agent_id, event: e })));
      sent.push(...beats);
    };
    w.svc = await startImpedanceWith(w.k, w.redisSrv.url, KNOBS);
    for (const r of [0, 1, 2]) await send(round(r));
    await waitCaughtUp(w.k, 'mesh.heartbeats');
    const latest = new Map<string, ImpedanceUpdated>();
    await collectEvents(w.k, 'mesh.impedance', (es) => {
      const e = es[es.length - 1];
      if (e?.type === 'ImpedanceUpdated') latest.set(e.agent_id, e);
      return latest.size === AGENTS && [...latest.values()].every((u) => u.meta.sequence === 3);
    });
    await w.svc.stop();
    w.svc = undefined;
    await w.redis.flushall();

    const real = (i: number) => latest.get(agent(i))!;
    const forged: Array<{ key: string; event: ImpedanceUpdated }> = [
      { key: agent(0), event: { ...real(0), impedance_score: 999, meta: { ...real(0).meta, producer: 'mallory' } } },
      { key: agent(1), event: { ...real(1), impedance_score: 1, meta: { ...real(1).meta, event_id: randomUUID() } } },
      { key: agent(2), event: { ...real(2), impedance_score: 2, applied_through: 1_000_000_000 } },
      { key: agent(3), event: { ...real(3), current_latency_ms: -5 } },
      { key: 'S666-C00-A00', event: { ...real(4), agent_id: 'S666-C00-A00', meta: { ...real(4).meta, event_id: randomUUID() } } },
      { key: agent(5), event: { ...real(6) } },
    ];
    await w.k.sendEvents('mesh.impedance', forged);

    w.svc = await startImpedanceWith(w.k, w.redisSrv.url, KNOBS, { LOG_LEVEL: 'warn' });
    await send(round(3));
    await waitCaughtUp(w.k, 'mesh.heartbeats');
    const expected = new Map<string, AgentState>();
    for (const b of sent) expected.set(b.agent_id, foldHeartbeat(expected.get(b.agent_id), b)!.agent);
    await new RegistryStore(w.redis, 'reference:').writeAgents(0, [...expected.values()]);
    const want = await dumpRegistry(w.redis, 'reference:');
    let got: Record<string, unknown> = {};
    await waitFor(async () => isDeepStrictEqual(got = await dumpRegistry(w.redis, w.prefix), want), 60_000, 'the registry of the heartbeats')
      .catch((err: Error) => { assert.deepStrictEqual(got, want, err.message); });
    assert.ok(!Object.keys(got).some((key) => key.includes('S666')), 'no made-up agent');
  });
});
