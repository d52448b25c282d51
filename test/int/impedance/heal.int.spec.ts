import assert from 'node:assert/strict';
import type { AgentStateChanged } from '../../../schemas/generated/events';
import { runCli as cli } from '../../support/process';
import { ackOf, hb } from '../../unit/impedance/helpers';
import { collectEvents, startImpedance, useImpedanceWorld } from './support';

const S = 1_000_000;

describe('solvermesh mesh heal (a child process) with the impedance service running: quarantines released in the ack fold', function () {
  this.timeout(180_000);
  const w = useImpedanceWorld('heal');
  const env = () => ({ ...process.env, TOPIC_PREFIX: w.k.prefix, LOG_LEVEL: 'warn' });
  const agents = ['S001-C01-A01', 'S001-C01-A02', 'S001-C01-A03', 'S001-C01-A04'];
  const changes = (es: Awaited<ReturnType<typeof collectEvents>>) => es.filter((e): e is AgentStateChanged => e.type === 'AgentStateChanged');

  it('given three agents quarantined by HASH_MISMATCH acks, when the mesh is healed, then it prints the released agents, they are ACTIVE again (cause OPERATOR) and the fourth is untouched', async () => {
    w.svc = await startImpedance(w.k, w.redisSrv.url);
    const t0 = Date.now() * 1000 - 20 * S;
    await w.k.sendEvents('mesh.heartbeats', [0, 5, 10].flatMap((dt) => agents.map((a) => ({ key: a, event: hb({ agent: a, at: t0 + dt * S }) }))));
    const bad = agents.slice(0, 3);
    await w.k.sendEvents('mesh.acks', bad.map((a) => {
      const ack = ackOf({ agent: a, at: t0 + 12 * S, message: `m-${a}`, state: 'CONFLICT', conflictType: 'HASH_MISMATCH' });
      return { key: ack.meta.correlation_id, event: ack };
    }));
    const quarantined = await collectEvents(w.k, 'mesh.impedance', (es) => changes(es).filter((c) => c.new_state === 'QUARANTINED').length >= 3, 60_000);
    assert.deepEqual(changes(quarantined).filter((c) => c.new_state === 'QUARANTINED').map((c) => c.agent_id).sort(), bad);

    const run = await cli(['mesh', 'heal', '--by', 'cecilia', '--note', 'contexts reloaded'], env());
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout.trim(), /^mesh healed by cecilia \([0-9a-f-]{36}, every agent\): 3 agent\(s\) released from quarantine: S001-C01-A01 -> ACTIVE, S001-C01-A02 -> ACTIVE, S001-C01-A03 -> ACTIVE; conflict streaks reset$/);
    const after = changes(await collectEvents(w.k, 'mesh.impedance', (es) => changes(es).filter((c) => c.cause === 'OPERATOR').length >= 3));
    const released = after.filter((c) => c.cause === 'OPERATOR');
    assert.deepEqual(released.map((c) => [c.agent_id, c.previous_state, c.new_state]).sort(), bad.map((a) => [a, 'QUARANTINED', 'ACTIVE']));
    assert.match(released[0]!.detail ?? '', /released by cecilia's heal: contexts reloaded/);

    const again = await cli(['mesh', 'heal', '--by', 'cecilia', '--agent', agents[0]!], env());
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /\(.*, 1 agent\(s\)\): no agent was quarantined; conflict streaks reset/);
  });

  it('given no impedance service, when the mesh is healed with --wait 3, then it exits 2 saying the heal is not in force', async () => {
    await w.svc?.stop();
    w.svc = undefined;
    const run = await cli(['mesh', 'heal', '--by', 'ops', '--wait', '3'], env());
    assert.equal(run.code, 2, run.stdout);
    assert.match(run.stderr, /MeshHealRequested [0-9a-f-]{36} is in .*mesh\.circuits but sequenced into 0\/6 agent-ack partitions within 3 s \(is the impedance service running\?\)/);
  });
});
