// The registry's summary entries and the fold positions they are as of (registry-store.ts): a
// write of a partition (several Lua calls of WRITE_CHUNK agents) and its position go in one
// MULTI, and a summary reads the entries and the positions in one MULTI, so what a summary names
// is what it read. Real Redis.
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { foldHeartbeat, type AgentState } from '../../../services/impedance/agent-fold';
import { RegistryStore, WRITE_CHUNK } from '../../../services/impedance/registry-store';
import { hb, S, T0 } from '../../unit/impedance/helpers';
import { freePort, PrivateRedis } from './support';

const TEMPLATE = foldHeartbeat(undefined, hb({ at: T0 }))!.agent;
/** Round r of a partition's agents: every agent's score, revision and last heartbeat say r. */
const round = (p: number, n: number, r: number): AgentState[] =>
  Array.from({ length: n }, (_, i) => ({ ...TEMPLATE, agentId: `p${p}-a${String(i).padStart(5, '0')}`, score: r, revision: r, lastHeartbeatAt: T0 + r * S }));

describe('impedance registry (Redis): summary entries read with the positions they are as of', function () {
  this.timeout(120_000);
  let srv: PrivateRedis;
  let redis: Redis;
  let reader: Redis;
  let store: RegistryStore;

  before(async () => {
    srv = new PrivateRedis(await freePort());
    await srv.start();
    redis = new Redis(srv.url);
    reader = new Redis(srv.url);
    store = new RegistryStore(redis, 'sp:');
  });
  after(async () => {
    redis?.disconnect();
    reader?.disconnect();
    await srv?.stop();
  });

  it('given whole-partition writes of several chunks under way, when summaries are read meanwhile, then every read finds each partition exactly as of the position it names', async () => {
    // given two partitions of 2.5 chunks each, built, written round after round (full writes and
    // summary-only writes in turn) on one connection, each round's position its round number
    const n = Math.floor(WRITE_CHUNK * 2.5);
    for (const p of [0, 1]) await store.writeAgents(p, round(p, n, 1), { heartbeatsThrough: 1, acksThrough: -1 }, true);
    const rounds = 24;
    let done = false;
    const writes = (async () => {
      for (let r = 2; r <= rounds; r++) {
        await Promise.all([0, 1].map((p) => (r % 2 === 0
          ? store.writeAgents(p, round(p, n, r), { heartbeatsThrough: r, acksThrough: r })
          : store.writeSummaries(round(p, n, r), p, { heartbeatsThrough: r, acksThrough: r }))));
      }
      done = true;
    })();

    // when summaries are read on another connection while the writes go on
    const readStore = new RegistryStore(reader, 'sp:');
    const seen = new Set<string>();
    let reads = 0;
    while (!done) {
      const { agents, positions } = await readStore.readSummary();
      reads++;
      // then each partition's entries are all of one round, the one its position names
      for (const p of [0, 1]) {
        const pos = positions.find((x) => x.partition === p);
        assert.ok(pos, `read ${reads}: partition ${p} has a position`);
        const scores = new Set(agents.filter((a) => a.agentId.startsWith(`p${p}-`)).map((a) => a.score));
        assert.deepEqual([...scores], [pos.heartbeats_through], `read ${reads}: partition ${p} at position ${pos.heartbeats_through} holds entries of rounds ${[...scores].join(', ')}`);
        seen.add(`${p}:${pos.heartbeats_through}`);
      }
    }
    await writes;
    // and the reads fell between many different writes, not only before or after them all
    assert.ok(seen.size >= 6, `reads saw ${seen.size} partition positions in ${reads} reads`);
  });

  it('given a position, when a write from behind it comes (a rolled-back batch, a stale owner), then neither the position nor the entries move back', async () => {
    await store.writeAgents(2, round(2, 3, 5), { heartbeatsThrough: 50, acksThrough: 7 }, true);
    await store.writeAgents(2, round(2, 3, 4), { heartbeatsThrough: 40, acksThrough: 9 });
    await store.writeSummaries(round(2, 3, 4), 2, { heartbeatsThrough: 40, acksThrough: 9 });
    const { agents, positions } = await store.readSummary();
    assert.deepEqual(positions.find((p) => p.partition === 2), { partition: 2, heartbeats_through: 50, acks_through: 7 });
    assert.deepEqual([...new Set(agents.filter((a) => a.agentId.startsWith('p2-')).map((a) => a.score))], [5]);
  });

  it('given an entry, when a summary-only write carries the same heartbeat at an older revision, then the entry keeps the newer one', async () => {
    const [a] = round(3, 1, 8);
    await store.writeAgents(3, [{ ...a!, revision: 9, score: 90 }], { heartbeatsThrough: 9, acksThrough: 0 }, true);
    assert.equal(await store.writeSummaries([{ ...a!, revision: 8, score: 80 }], 3, { heartbeatsThrough: 9, acksThrough: -1 }), 0);
    assert.equal((await store.readSummary()).agents.find((x) => x.agentId === a!.agentId)?.score, 90);
  });

  it('given a partition not built (a registry emptied), when its agents are written without the rebuild, then no position is set for it', async () => {
    await store.writeAgents(4, round(4, 2, 3), { heartbeatsThrough: 3, acksThrough: -1 });
    assert.equal((await store.readSummary()).positions.find((p) => p.partition === 4), undefined);
    await store.writeAgents(4, round(4, 2, 3), { heartbeatsThrough: 3, acksThrough: -1 }, true);
    assert.deepEqual((await store.readSummary()).positions.find((p) => p.partition === 4), { partition: 4, heartbeats_through: 3, acks_through: -1 });
    assert.equal(await store.isBuilt(4), true);
  });
});
