import assert from 'node:assert/strict';
import type { SummaryPosition } from '../../../schemas/generated/events';
import { loadEventSchemas } from '../../../schemas/catalog';
import { PartitionFold } from '../../../services/impedance/partition-fold';
import { snapshotOf } from '../../../services/impedance/registry-store';
import type { AckInput, HeartbeatInput } from '../../../services/impedance/schedule-refold';
import { windowAccuracy, type AccuracyCells } from '../../../services/impedance/accuracy';
import { summarize, type AgentSnapshot } from '../../../services/impedance/summaries';
import { compareSummaries, summaryReplayLine, type LoggedSummary, type SummaryEvent, type SummaryLog } from '../../../services/impedance/summary-replay';
import { ackOf, hb, S, T0 } from './helpers';

const schemas = loadEventSchemas();
const encode = async (e: SummaryEvent) => schemas.get(e.type)!.type.toBuffer(e);

/** Partition p's heartbeats: agents p-0..p-3 in two clusters, `rounds` rounds 1 s apart. */
function beats(p: number, rounds: number): HeartbeatInput[] {
  const out: HeartbeatInput[] = [];
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < 4; i++) {
      out.push({ offset: out.length, event: hb({ agent: `${p}-${i}`, at: T0 + r * S + i, latency: 10 + 7 * i + 3 * r + p, processing: 5 + r, cluster: `S00${p}-C0${i % 2}`, sector: `S00${p}` }) });
    }
  }
  return out;
}

/** What the service writes at a tick: the agents and accuracy as its fold had them at `positions`, read back. */
function written(heartbeats: ReadonlyMap<number, HeartbeatInput[]>, acks: ReadonlyMap<number, AckInput[]>, tick: number, positions: SummaryPosition[], named = positions): Promise<LoggedSummary[]> {
  const agents: AgentSnapshot[] = [];
  const cells: AccuracyCells[] = [];
  for (const pos of positions) {
    const f = new PartitionFold();
    for (const x of heartbeats.get(pos.partition) ?? []) if (x.offset <= pos.heartbeats_through) f.apply(x.event, x.offset);
    for (const x of acks.get(pos.partition) ?? []) if (x.offset <= pos.acks_through && x.event.type === 'AckReceived') f.applyAck(x.event, x.offset);
    for (const a of f.agents.values()) agents.push(snapshotOf(a));
    cells.push(f.accuracyCells());
  }
  const s = summarize(agents, tick, windowAccuracy(cells, Math.floor(tick / 1000)), named);
  return Promise.all([...s.clusters, ...s.sectors, s.mesh].map(async (event, i) => ({ event, value: await encode(event), partition: 0, offset: tick / S + i })));
}

describe('impedance: summary replay (pure parts)', () => {
  const heartbeats = new Map([[0, beats(0, 6)], [1, beats(1, 6)]]);
  const acks = new Map<number, AckInput[]>([[1, [0, 1, 2].map((k) => ({ offset: k, event: ackOf({ agent: '1-2', at: T0 + 2 * S + k, message: `m${k}`, state: 'CONFLICT' }) }))]]);
  const at = (h0: number, h1: number, a1 = -1): SummaryPosition[] => [{ partition: 0, heartbeats_through: h0, acks_through: -1 }, { partition: 1, heartbeats_through: h1, acks_through: a1 }];

  it('given summaries written from the folds at the positions they name, when replayed, then each is identical byte for byte, ticks in order', async () => {
    const log: SummaryLog = {
      summaries: [
        ...(await written(heartbeats, acks, T0 + 5 * S, at(11, 7, 1))),
        ...(await written(heartbeats, acks, T0 + 10 * S, at(23, 23, 2))),
      ],
      heartbeats, acks,
    };
    const r = await compareSummaries(log, encode);
    assert.equal(r.ok, true, summaryReplayLine(r));
    assert.equal(r.ticks, 2);
    assert.equal(r.identical, log.summaries.length);
    assert.equal(r.positions, 4);
    // Four clusters and two sectors a tick, and the mesh.
    assert.equal(log.summaries.length, 14);
    assert.match(summaryReplayLine(r), /14 summaries identical byte for byte \(2 ticks, 4 partition positions refolded\)/);
  });

  it('given a summary read while a write was half done (entries further than the positions it names), when replayed, then the first scope that differs is named at its tick', async () => {
    // The entries of partition 1 through offset 11, named as through 7: what a read apart from the positions can give.
    const log: SummaryLog = { summaries: await written(heartbeats, acks, T0 + 5 * S, at(11, 11), at(11, 7)), heartbeats, acks };
    const r = await compareSummaries(log, encode);
    assert.equal(r.ok, false);
    assert.equal(r.divergence!.kind, 'differs');
    assert.equal(r.divergence!.tick, T0 + 5 * S);
    assert.equal(r.divergence!.scope, 'cluster:S001-C00');
    assert.equal(r.divergence!.field, 'mean_impedance');
    assert.match(summaryReplayLine(r), /DIVERGED at tick \d+ cluster:S001-C00 .*differs at mean_impedance/);
  });

  it('given a recorded field changed, when replayed, then that field of that summary is named with both values', async () => {
    const summaries = await written(heartbeats, acks, T0 + 5 * S, at(11, 11));
    const i = summaries.findIndex((s) => s.event.type === 'SectorSummarized');
    const changed = { ...summaries[i]!.event, active_agents: 3 } as SummaryEvent;
    summaries[i] = { ...summaries[i]!, event: changed, value: await encode(changed) };
    const r = await compareSummaries({ summaries, heartbeats, acks }, encode);
    assert.equal(r.divergence?.field, 'active_agents');
    assert.equal(r.divergence?.scope, 'sector:S000');
    assert.deepEqual([r.divergence?.recorded, r.divergence?.recomputed], [3, 4]);
  });

  it('given the agent-acks folded to the position named, when the acks quarantine an agent, then the replay sees it only at positions past them', async () => {
    const before = await written(heartbeats, acks, T0 + 5 * S, at(11, 11, -1));
    const after = await written(heartbeats, acks, T0 + 10 * S, at(23, 23, 2));
    const r = await compareSummaries({ summaries: [...before, ...after], heartbeats, acks }, encode);
    assert.equal(r.ok, true, summaryReplayLine(r));
    const meshOf = (xs: LoggedSummary[]) => xs.find((s) => s.event.type === 'MeshSummarized')!.event as { active_agents: number };
    assert.equal(meshOf(before).active_agents, 8);
    assert.equal(meshOf(after).active_agents, 7);
  });

  it('given summaries without positions (written before they were recorded), when replayed, then the replay says so instead of guessing', async () => {
    const summaries = await written(heartbeats, acks, T0 + 5 * S, at(11, 11), []);
    const old = summaries.map((s) => ({ ...s, event: { ...s.event, registry_positions: null } as SummaryEvent }));
    const r = await compareSummaries({ summaries: old, heartbeats, acks }, encode);
    assert.equal(r.divergence?.kind, 'no positions');
  });

  it('given a recorded tick with a cluster the refold does not have, when replayed, then it is named as not recomputed', async () => {
    const summaries = await written(heartbeats, acks, T0 + 5 * S, at(11, 11));
    const extra = { ...summaries[0]!.event, meta: { ...summaries[0]!.event.meta, event_id: 'made-up', correlation_id: 'cluster:S009-C09' }, cluster_id: 'S009-C09' } as SummaryEvent;
    const r = await compareSummaries({ summaries: [...summaries, { ...summaries[0]!, event: extra, value: await encode(extra) }], heartbeats, acks }, encode);
    assert.equal(r.divergence?.kind, 'not recomputed');
    assert.equal(r.divergence?.eventId, 'made-up');
  });
});
