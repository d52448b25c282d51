// Given the impedance service on the real broker and Redis, and a mesh whose last heartbeats
// took one partition past a 5 s tick while another partition's stopped just short of it, when
// the mesh goes silent, then the tick is summarised anyway: the service writes a SummaryDue onto
// its summary partition of mesh.heartbeats after the quiet spell, and where that record lands the
// summaries look again (services/impedance/summary-due.ts). Before, the tick waited for the next
// heartbeat that crossed one, which a silent mesh never sends.
import assert from 'node:assert/strict';
import type { MeshSummarized, SummaryDue } from '../../../schemas/generated/events';
import { partitionOf } from '../../../services/runtime/kafka/partition-key';
import { MESH_PARTITIONS } from '../../../topics/catalog';
import { hb, S } from '../../unit/impedance/helpers';
import { readTopic, until } from '../guardian/support';
import { startImpedance, useImpedanceWorld, waitCaughtUp } from './support';

/** The first agent id `agent-<n>` that lands on a heartbeat partition other than `not`. */
function agentOn(not: number): string {
  for (let n = 0; ; n++) if (partitionOf(`agent-${n}`, MESH_PARTITIONS) !== not) return `agent-${n}`;
}

describe('impedance service: the last tick of a mesh gone silent', function () {
  this.timeout(120_000);
  const w = useImpedanceWorld('impedance-summary-due');

  it('given partition A past the tick T+5 s and partition B just short of it, when no heartbeat follows, then T+5 s is summarised after a SummaryDue for it, without another heartbeat', async () => {
    w.svc = await startImpedance(w.k, w.redisSrv.url);
    const a = 'agent-0';
    const b = agentOn(partitionOf(a, MESH_PARTITIONS));
    const T = (Math.floor(Date.now() / 5_000) * 5_000 - 60_000) * 1000;
    const send = (beats: Array<[string, number]>) => w.k.sendEvents('mesh.heartbeats', beats.map(([agent, at]) => ({ key: agent, event: hb({ agent, at, cluster: 'S001-C01' }) })));
    await send([[a, T + 1 * S], [b, T + 1 * S]]);
    await waitCaughtUp(w.k, 'mesh.heartbeats');
    await send([[b, T + 4.9 * S], [a, T + 6 * S]]);
    const sentAt = Date.now();

    const mesh = () => readTopic(w.k, 'mesh.summaries').then((es) => es.filter((e): e is MeshSummarized => e.type === 'MeshSummarized').map((e) => e.meta.occurred_at));
    // At A's crossing, B (at T + 4.9 s) and the partitions without agents had had heartbeats
    // resume less than the quiet spell before: no summary. T + 5 s comes after the quiet spell.
    const ticks = await until('the summary of T + 5 s', mesh, (ts) => ts.includes(T + 5 * S), 60_000);
    assert.deepEqual(ticks, [T + 5 * S]);
    assert.ok(Date.now() - sentAt >= 10_000, `T + 5 s summarised ${Date.now() - sentAt} ms after the last heartbeat, before the quiet spell`);
    const due = (await readTopic(w.k, 'mesh.heartbeats')).filter((e): e is SummaryDue => e.type === 'SummaryDue');
    assert.deepEqual(due.map((e) => [e.partition, e.tick_at, e.meta.producer]), [[0, T + 5 * S, 'impedance']]);
    // Summarised, the tick asks for nothing more: no second SummaryDue.
    await new Promise((r) => setTimeout(r, 12_000));
    assert.equal((await readTopic(w.k, 'mesh.heartbeats')).filter((e) => e.type === 'SummaryDue').length, 1);
    assert.deepEqual(await mesh(), [T + 5 * S]);
  });
});
