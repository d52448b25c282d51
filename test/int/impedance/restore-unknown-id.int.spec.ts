// Found by the soak (issue 15): at assignment the impedance reads back what it needs before its
// first record (the freeze state of its mesh.coordination partitions, the copies on
// mesh.agent-acks, its changelog); a record there with a schema id the registry does not know
// fails that read while the id's grace lasts, a retriable failure. The runner logged the failed
// hook and went on: the partitions' folds were never restored and their heartbeats were folded
// into empty agents.
import assert from 'node:assert/strict';
import type { HeartbeatReceived, ImpedanceUpdated } from '../../../schemas/generated/events';
import { hb, S } from '../../unit/impedance/helpers';
import { collectEvents, startImpedanceWith, useImpedanceWorld, waitCaughtUp } from './support';

const AGENTS = 12;
const T = Math.floor(Date.now() / 5_000_000) * 5_000_000 * 1000;
const round = (r: number): HeartbeatReceived[] => Array.from({ length: AGENTS }, (_, i) => hb({
  agent: `S003-C01-A${String(i).padStart(2, '0')}`, at: T + r * 5 * S + i * 1000, cluster: 'S003-C01', sector: 'S003', latency: 10 + ((i * 5 + r * 11) % 40),
}));
/** Confluent framing with a schema id no registry here has (magic byte 0, 4-byte id, body). */
const madeUpId = () => Buffer.concat([Buffer.from([0]), Buffer.from([0x7f, 0x00, 0x12, 0x34]), Buffer.from('not an event')]);

describe('impedance service: restart beside a record with an unknown schema id', function () {
  this.timeout(180_000);
  const w = useImpedanceWorld('impedance-restore-unknown-id');
  // A short grace, so the first instance dead-letters the record soon; the second meets it again at assignment.
  const knobs = { IMPEDANCE_CHECKPOINT_MS: '0', SCHEMA_ID_GRACE_MS: '2000' };

  it('given a made-up schema id on mesh.coordination below the group\'s offsets, when a new instance starts, then it restores its folds and the next round lands on revision 4', async () => {
    const send = (beats: HeartbeatReceived[]) => w.k.sendEvents('mesh.heartbeats', beats.map((e) => ({ key: e.agent_id, event: e })));
    w.svc = await startImpedanceWith(w.k, w.redisSrv.url, knobs);
    for (const r of [0, 1, 2]) await send(round(r));
    await w.k.sendRaw('mesh.coordination', [{ key: 'c-unknown-id', value: madeUpId() }]);
    await waitCaughtUp(w.k, 'mesh.heartbeats');
    await waitCaughtUp(w.k, 'mesh.coordination');

    // when the instance is gone and a new one starts (its assignment reads mesh.coordination back)
    await w.svc.stop();
    w.svc = undefined;
    w.svc = await startImpedanceWith(w.k, w.redisSrv.url, knobs);

    // then the fold goes on from the restored agents: revision 4, not 1
    await send(round(3));
    const latest = new Map<string, ImpedanceUpdated>();
    await collectEvents(w.k, 'mesh.impedance', (es) => {
      const e = es[es.length - 1];
      if (e?.type === 'ImpedanceUpdated') latest.set(e.agent_id, e);
      return latest.size === AGENTS && [...latest.values()].every((u) => u.meta.sequence !== 3);
    }, 60_000);
    assert.deepEqual([...new Set([...latest.values()].map((u) => u.meta.sequence))], [4], 'every agent at revision 4 after round 3');
  });
});
