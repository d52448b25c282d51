// The impedance registry in Redis (seed 002 §2.3, §8.1 "sub-10ms reads"): a projection of the
// fold, never the truth. Layout under a key prefix:
//   agent:<id>             hash: the AgentImpedance fields + rev (the fold revision) + pos (how far
//                          its partition's fold was at the write: "partition|heartbeat offset|ack offset")
//   z:class:<c> z:cluster:<id> z:sector:<id> z:cap:<c>   sorted sets, score = impedance score
//   summary                hash agent id -> "score|state|last_hb_us|cluster|sector|drift|rev" (one
//                          HGETALL feeds the 5 s summaries)
//   summarypos             hash heartbeat partition -> "heartbeats through|acks through": the fold
//                          position its summary entries are as of; written in the same MULTI as
//                          the entries, and read in one MULTI with them (summary replay)
//   summaryacc             hash heartbeat partition -> its fold's prediction-accuracy cells at that
//                          position (accuracy.ts encodeCells), written and read with summarypos
//   watermarks             hash heartbeat partition -> "watermark_us|seen_ms|behind": how far its owner's
//                          summary entries are written (summary-clock.ts)
//   built:<partition>      marker: this heartbeat partition's agents are in the registry
//   sched:<message id>     T of a schedule, for acks that do not carry it
// Writes are Lua calls (one per chunk of agents, the agents as one JSON array of strings, 17
// per agent: ioredis handles one argument instead of 17 per agent, and the hash holds the same
// strings as before); the chunks of one write go in one MULTI with the partition's position, so
// a summary never reads a write half done. Each agent is written only if (last heartbeat, revision) is not older than the
// stored one, so a replayed batch rewrites identical values and a stale writer (a zombie owner)
// cannot roll an agent back. The last heartbeat comes first: within one log both only grow,
// but a log started afresh (make clean-data wipes Kafka, not Redis) counts revisions from 1
// again, and a revision-only guard kept the previous log's agents (a mesh demo once showed
// 1,997 of 29,940 agents active, their last heartbeats stale).
import Redis from 'ioredis';
import { AGENT_CLASS_SYMBOLS, type AgentClass, type AgentOperationalState, type RegistryPosition, type SummaryPosition } from '../../schemas/generated/events';
import { redisAuth } from '../runtime/credentials';
import { transient } from '../runtime/errors';
import { decodeCells, encodeCells, NO_CELLS, windowAccuracy, type AccuracyCells } from './accuracy';
import type { AgentState } from './agent-fold';
import { rankByLoad } from './load';
import { circuitOpen as circuitOpen_, readRestrictions } from './restrictions';
import type { ScheduleAgent } from './schedule';
import type { PartitionMark } from './summary-clock';
import type { AgentSnapshot, PredictionAccuracy } from './summaries';

// Whether a summary entry (score|state|hb|cluster|sector|drift[|rev]) is not newer than (hb, rev):
// by last heartbeat, then revision (an entry without one is older than any).
const NEWER = `
local function newer(o, hb, rev)
  local oh, orev = string.match(o, '^[^|]*|[^|]*|([^|]*)|[^|]*|[^|]*|[^|]*|([^|]*)$')
  if not oh then oh = string.match(o, '^[^|]*|[^|]*|([^|]*)'); orev = '-1' end
  oh = tonumber(oh) or 0
  return oh < hb or (oh == hb and (tonumber(orev) or -1) <= rev)
end
`;

const APPLY = `${NEWER}
local p = ARGV[1]
local built = redis.call('EXISTS', p .. 'built:' .. ARGV[2])
local applied = 0
-- Index entries are gathered per sorted set (by the index's value: no key name is built per
-- agent) and added with one ZADD per set, the summary entries with one HSET: a call per entry
-- cost Redis more than the entry itself.
local groups = { ['z:class:'] = {}, ['z:sector:'] = {}, ['z:cluster:'] = {}, ['z:cap:'] = {} }
local function zadd(kind, value, score, id)
  local g = groups[kind]
  local t = g[value]
  if not t then t = {}; g[value] = t end
  local n = #t
  t[n + 1] = score
  t[n + 2] = id
  -- unpack() is bounded by Lua's C stack (8000 values).
  if n + 2 >= 2000 then redis.call('ZADD', p .. kind .. value, unpack(t)); g[value] = {} end
end
local capsOf = {}
local summary = {}
-- One flat array of strings, 17 per agent: a table per agent cost more to decode than its strings.
local v = cjson.decode(ARGV[3])
-- The summary entries are guarded on their own: a summary-only write may have put a newer one.
local ids = {}
for i = 0, #v - 1, 17 do ids[#ids + 1] = v[i + 1] end
local olds = #ids > 0 and redis.call('HMGET', p .. 'summary', unpack(ids)) or {}
for i = 0, #v - 1, 17 do
  local id, rev, class, sector, cluster, caps, score, state, hb, lat, proc, queue, rel, drift, n, ctx, util =
    v[i + 1], v[i + 2], v[i + 3], v[i + 4], v[i + 5], v[i + 6], v[i + 7], v[i + 8], v[i + 9], v[i + 10],
    v[i + 11], v[i + 12], v[i + 13], v[i + 14], v[i + 15], v[i + 16], v[i + 17]
  local key = p .. 'agent:' .. id
  local old = redis.call('HMGET', key, 'rev', 'class', 'sector', 'cluster', 'caps', 'last_hb')
  local oldHb = tonumber(old[6] or '0')
  local newHb = tonumber(hb)
  if (not old[1]) or oldHb < newHb or (oldHb == newHb and tonumber(old[1]) <= tonumber(rev)) then
    if old[1] and old[2] == class and old[3] == sector and old[4] == cluster and old[5] == caps then
      -- The usual heartbeat: class, sector, cluster and capabilities as stored.
      redis.call('HSET', key, 'rev', rev, 'score', score, 'state', state, 'last_hb', hb, 'lat', lat,
        'proc', proc, 'queue', queue, 'rel', rel, 'drift', drift, 'n', n, 'ctx', ctx, 'util', util, 'pos', ARGV[4])
    else
      if old[1] then
        -- Leave an index only when the agent moved out of it.
        if old[2] ~= class then redis.call('ZREM', p .. 'z:class:' .. old[2], id) end
        if old[3] ~= sector then redis.call('ZREM', p .. 'z:sector:' .. old[3], id) end
        if old[4] ~= cluster then redis.call('ZREM', p .. 'z:cluster:' .. old[4], id) end
        if old[5] ~= caps then
          for c in string.gmatch(old[5], '[^,]+') do redis.call('ZREM', p .. 'z:cap:' .. c, id) end
        end
      end
      redis.call('HSET', key, 'rev', rev, 'class', class, 'sector', sector, 'cluster', cluster,
        'caps', caps, 'score', score, 'state', state, 'last_hb', hb, 'lat', lat,
        'proc', proc, 'queue', queue, 'rel', rel, 'drift', drift, 'n', n, 'ctx', ctx, 'util', util, 'pos', ARGV[4])
    end
    zadd('z:class:', class, score, id)
    zadd('z:sector:', sector, score, id)
    zadd('z:cluster:', cluster, score, id)
    local list = capsOf[caps]
    if not list then
      list = {}
      for c in string.gmatch(caps, '[^,]+') do list[#list + 1] = c end
      capsOf[caps] = list
    end
    for j = 1, #list do zadd('z:cap:', list[j], score, id) end
    local o = olds[i / 17 + 1]
    if (not o) or newer(o, newHb, tonumber(rev)) then
      summary[#summary + 1] = id
      summary[#summary + 1] = score .. '|' .. state .. '|' .. hb .. '|' .. cluster .. '|' .. sector .. '|' .. drift .. '|' .. rev
    end
    if #summary >= 2000 then redis.call('HSET', p .. 'summary', unpack(summary)); summary = {} end
    applied = applied + 1
  end
end
for kind, g in pairs(groups) do
  for value, t in pairs(g) do
    if #t > 0 then redis.call('ZADD', p .. kind .. value, unpack(t)) end
  end
end
if #summary > 0 then redis.call('HSET', p .. 'summary', unpack(summary)) end
return {built, applied}
`;

// The summary entries alone (what the 5 s summaries read), for a service catching up: its full
// writes are far apart (processor.ts), and summaries judge an agent offline by its last
// heartbeat. ARGV[2] is a JSON array of (id, last heartbeat, revision, entry) strings; an entry
// replaces an older one only (last heartbeat, then revision), so a stale writer cannot roll an
// agent back.
const SUMMARY = `${NEWER}
local key = ARGV[1] .. 'summary'
local v = cjson.decode(ARGV[2])
local n = #v / 4
local ids = {}
for i = 1, n do ids[i] = v[4 * i - 3] end
local old = redis.call('HMGET', key, unpack(ids))
local set = {}
for i = 1, n do
  local o = old[i]
  if (not o) or newer(o, tonumber(v[4 * i - 2]), tonumber(v[4 * i - 1])) then
    set[#set + 1] = ids[i]
    set[#set + 1] = v[4 * i]
  end
end
if #set > 0 then redis.call('HSET', key, unpack(set)) end
return #set / 2
`;

// The position of a partition's summary entries (ARGV: prefix, partition, heartbeats through, acks
// through), in the MULTI of the write that made them so, and its fold's accuracy cells there
// (ARGV[6]), which go with the position. Set only where the partition is built
// (entries of a registry emptied and not yet rebuilt are not a fold's), or by the rebuild itself
// (ARGV[5] = 1, which marks it built); never moved back (a write behind the stored one, from a
// rolled-back batch or a stale owner, had its entries refused as older by the guards).
const POSITION = `
local k = ARGV[1] .. 'summarypos'
if ARGV[5] == '1' then redis.call('SET', ARGV[1] .. 'built:' .. ARGV[2], '1')
elseif redis.call('EXISTS', ARGV[1] .. 'built:' .. ARGV[2]) == 0 then return 0 end
local h, a = tonumber(ARGV[3]), tonumber(ARGV[4])
local old = redis.call('HGET', k, ARGV[2])
if old then
  local oh, oa = string.match(old, '^(-?%d+)|(-?%d+)$')
  oh, oa = tonumber(oh), tonumber(oa)
  if h < oh or (h == oh and a < oa) then return 0 end
end
redis.call('HSET', k, ARGV[2], h .. '|' .. a)
redis.call('HSET', ARGV[1] .. 'summaryacc', ARGV[2], ARGV[6])
return 1
`;

const STATE_CODE: Record<AgentOperationalState, string> = { ACTIVE: 'A', DEGRADED: 'D', OFFLINE: 'O', QUARANTINED: 'Q' };
const STATE_OF: Record<string, AgentOperationalState> = { A: 'ACTIVE', D: 'DEGRADED', O: 'OFFLINE', Q: 'QUARANTINED' };

export interface RoutedAgent {
  readonly agentId: string;
  readonly score: number;
  readonly agentClass: AgentClass;
  readonly clusterId: string;
}

type Multi = ReturnType<Redis['multi']> & {
  impedanceApply(...args: Array<string | number>): Multi;
  impedanceSummary(...args: Array<string | number>): Multi;
  impedancePosition(...args: Array<string | number>): Multi;
};

type WithScripts = Redis & {
  impedanceApply(...args: Array<string | number>): Promise<[number, number]>;
  impedanceSummary(...args: Array<string | number>): Promise<number>;
};

/** How far a partition's fold was: the position its registry entries are as of, and its accuracy cells there (none: no acks). */
export interface FoldPosition { readonly heartbeatsThrough: number; readonly acksThrough: number; readonly accuracy?: AccuracyCells }

/** The registry's summary entries with the positions they are as of, read in one MULTI. */
export interface SummaryRead {
  readonly agents: AgentSnapshot[];
  /** By partition; a partition without one has no entries written at a known position. */
  readonly positions: SummaryPosition[];
  /** The accuracy cells of each partition's fold at its position. */
  readonly accuracy: ReadonlyMap<number, AccuracyCells>;
}

/** Agents per Lua call of a write: Redis runs a script alone; the calls of one write go in one MULTI. */
export const WRITE_CHUNK = 2000;

export function connectRedis(url: string): Redis {
  // Fail fast while Redis is down: the runner retries with backoff and then aborts the batch,
  // which is consumed again, so nothing waits in an unbounded offline queue.
  return new Redis(url, { ...redisAuth(), maxRetriesPerRequest: 1, enableOfflineQueue: true, lazyConnect: false, connectTimeout: 2000, commandTimeout: 5000 });
}

/** Index of the next '|' in v from `from`, or v.length (a missing field then reads as ''). */
const sep = (v: string, from: number): number => {
  const k = from > v.length ? -1 : v.indexOf('|', from);
  return k < 0 ? v.length : k;
};

/** Deletes every key starting with `keyPrefix` (a run's namespace), a SCAN page at a time. */
export async function unlinkPrefixed(redis: Redis, keyPrefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 5000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/** An entry's `pos` field; null for one written before positions were kept. */
function positionOf(v: string | null): RegistryPosition | null {
  const m = v === null ? null : /^(\d+)\|(-?\d+)\|(-?\d+)$/.exec(v);
  return m ? { partition: Number(m[1]), heartbeats_through: Number(m[2]), acks_through: Number(m[3]) } : null;
}

/**
 * What a schedule reads of an agent, as it comes back from its registry entry (the same strings:
 * a capability list goes through join and split), for a replay that refolds the agent instead.
 */
export function scheduleAgentOf(a: AgentState, position: RegistryPosition | null): ScheduleAgent {
  const caps = a.capabilities.join(',');
  return {
    agentId: a.agentId, agentClass: a.agentClass, latencyMs: Number(String(a.latencyMs)), processingMs: Number(String(a.processingMs)), sampleCount: a.latencies.length,
    queueDepth: Number(String(a.queueDepth)), drift: Number(String(a.drift)), reliability: Number(String(a.reliability)), lastHeartbeatAt: Number(String(a.lastHeartbeatAt)),
    state: a.state, capabilities: caps ? caps.split(',') : [], clusterId: a.clusterId, sectorId: a.sectorId, position,
  };
}

/** The summaryacc hash (partition, cells, ...) as HGETALL returns it. */
function accuracyByPartition(flat: readonly string[]): Map<number, AccuracyCells> {
  const out = new Map<number, AccuracyCells>();
  for (let i = 0; i + 1 < flat.length; i += 2) out.set(Number(flat[i]), decodeCells(flat[i + 1]!));
  return out;
}

/** Summary entries (field, value, ...) as HGETALL returns them. */
function snapshotsOf(flat: readonly string[]): AgentSnapshot[] {
  const out = new Array<AgentSnapshot>(flat.length >> 1);
  // Cut at the separators instead of split(): no array per entry, and the few distinct cluster
  // and sector ids come out as one string each instead of one per agent.
  const names = new Map<string, string>();
  const name = (x: string) => {
    const known = names.get(x);
    if (known !== undefined) return known;
    names.set(x, x);
    return x;
  };
  for (let i = 0; i + 1 < flat.length; i += 2) {
    // score|state|last heartbeat|cluster|sector|drift[|revision]
    const v = flat[i + 1]!;
    const a = sep(v, 0), b = sep(v, a + 1), c = sep(v, b + 1), d = sep(v, c + 1), e = sep(v, d + 1), f = sep(v, e + 1);
    out[i >> 1] = {
      agentId: flat[i]!, clusterId: name(v.slice(c + 1, d)), sectorId: name(v.slice(d + 1, e)), score: Number(v.slice(0, a)),
      state: STATE_OF[v.slice(a + 1, b)] ?? 'OFFLINE', lastHeartbeatAt: Number(v.slice(b + 1, c)), drift: Number(v.slice(e + 1, f)),
    };
  }
  return out;
}

/** What a summary reads of an agent, as it comes back from its summary entry (the same strings), for the summary replay. */
export function snapshotOf(a: AgentState): AgentSnapshot {
  return {
    agentId: a.agentId, clusterId: a.clusterId, sectorId: a.sectorId, score: Number(String(a.score)), state: a.state,
    lastHeartbeatAt: Number(String(a.lastHeartbeatAt)), drift: Number(String(a.drift)),
  };
}

const storeDown = (what: string, err: unknown) => transient('STORE_UNAVAILABLE', `redis: ${what} failed: ${(err as Error)?.message ?? String(err)}`, err);

export class RegistryStore {
  private readonly r: WithScripts;

  constructor(redis: Redis, readonly prefix: string) {
    redis.defineCommand('impedanceApply', { numberOfKeys: 0, lua: APPLY });
    redis.defineCommand('impedanceSummary', { numberOfKeys: 0, lua: SUMMARY });
    redis.defineCommand('impedancePosition', { numberOfKeys: 0, lua: POSITION });
    this.r = redis as WithScripts;
  }

  get redis(): Redis { return this.r; }

  private key(k: string): string { return this.prefix + k; }

  /** The agents as one registry write (see writeAgents). */
  private encodeAgents(agents: readonly AgentState[]): string {
    const flat: string[] = [];
    for (const a of agents) {
      flat.push(
        a.agentId, String(a.revision), a.agentClass, a.sectorId, a.clusterId, a.capabilities.join(','), String(a.score), STATE_CODE[a.state],
        String(a.lastHeartbeatAt), String(a.latencyMs), String(a.processingMs), String(a.queueDepth), String(a.reliability), String(a.drift),
        String(a.latencies.length), a.contextHash, a.utilisation === null ? '' : String(a.utilisation),
      );
    }
    return JSON.stringify(flat);
  }

  /**
   * The calls of one write in one MULTI, then the partition's position (when known): a summary
   * reads the entries and the positions in one MULTI too, so it sees a write whole or not at all.
   */
  private async exec<T>(what: string, calls: ReadonlyArray<(m: Multi) => void>, partition: number, at: FoldPosition | undefined, rebuilt: boolean): Promise<T[]> {
    const m = this.r.multi() as Multi;
    for (const c of calls) c(m);
    if (at) m.impedancePosition(this.prefix, partition, at.heartbeatsThrough, at.acksThrough, rebuilt ? 1 : 0, encodeCells(at.accuracy ?? NO_CELLS));
    let res: Array<[Error | null, unknown]> | null;
    try { res = await m.exec(); } catch (err) { throw storeDown(what, err); }
    if (!res) throw storeDown(what, new Error('MULTI aborted'));
    const out: T[] = [];
    for (let i = 0; i < calls.length; i++) {
      const [err, v] = res[i] ?? [new Error('no reply'), null];
      if (err) throw storeDown(what, err);
      out.push(v as T);
    }
    return out;
  }

  /**
   * Writes agents of one heartbeat partition, as its fold had them with its inputs folded through
   * `at` (the position each agent's entry keeps, and its summary entries'; none: not known), in
   * chunks of WRITE_CHUNK sent as one MULTI; says whether the partition was built before.
   * `rebuilt`: these are all its agents (a registry emptied): the partition is built from here.
   * The agents are read before this returns, not when the write is sent: the fold reuses the
   * states of committed batches (partition-fold.ts), and writes run behind it.
   */
  async writeAgents(partition: number, agents: readonly AgentState[], at?: FoldPosition, rebuilt = false): Promise<{ built: boolean; applied: number }> {
    const position = at ? `${partition}|${at.heartbeatsThrough}|${at.acksThrough}` : '';
    const calls: Array<(m: Multi) => void> = [];
    for (let i = 0; i < agents.length; i += WRITE_CHUNK) {
      const encoded = this.encodeAgents(agents.slice(i, i + WRITE_CHUNK));
      calls.push((m) => m.impedanceApply(this.prefix, partition, encoded, position));
    }
    const res = await this.exec<[number, number]>('registry write', calls, partition, at, rebuilt);
    return { built: res.every(([b]) => b === 1), applied: res.reduce((n, [, a]) => n + a, 0) };
  }

  private encodeSummaries(agents: readonly AgentState[]): string {
    const flat: string[] = [];
    for (const a of agents) {
      // The entry the full write's script builds from the same strings.
      flat.push(a.agentId, String(a.lastHeartbeatAt), String(a.revision), `${a.score}|${STATE_CODE[a.state]}|${a.lastHeartbeatAt}|${a.clusterId}|${a.sectorId}|${a.drift}|${a.revision}`);
    }
    return JSON.stringify(flat);
  }

  /**
   * Writes only the agents' summary entries (the full write's, same guard), in chunks sent as one
   * MULTI with the partition's position `at` (as writeAgents); says how many were applied. The
   * agents are read before this returns, as by writeAgents.
   */
  async writeSummaries(agents: readonly AgentState[], partition = -1, at?: FoldPosition): Promise<number> {
    const calls: Array<(m: Multi) => void> = [];
    for (let i = 0; i < agents.length; i += WRITE_CHUNK) {
      const encoded = this.encodeSummaries(agents.slice(i, i + WRITE_CHUNK));
      calls.push((m) => m.impedanceSummary(this.prefix, encoded));
    }
    const res = await this.exec<number>('summary write', calls, partition, partition >= 0 ? at : undefined, false);
    return res.reduce((n, x) => n + x, 0);
  }

  async markBuilt(partition: number): Promise<void> {
    try { await this.r.set(this.key(`built:${partition}`), '1'); } catch (err) { throw storeDown('mark built', err); }
  }

  async isBuilt(partition: number): Promise<boolean> {
    try { return (await this.r.exists(this.key(`built:${partition}`))) === 1; } catch (err) { throw storeDown('read marker', err); }
  }

  /** Publishes how far the owned partitions' summary entries are written (after they are). */
  async writeWatermarks(marks: readonly PartitionMark[]): Promise<void> {
    const flat = marks.filter((m) => Number.isFinite(m.watermarkUs)).flatMap((m) => [String(m.partition), `${m.watermarkUs}|${m.seenMs}|${m.behind ? 1 : 0}`]);
    if (flat.length === 0) return;
    try { await this.r.hset(this.key('watermarks'), ...flat); } catch (err) { throw storeDown('write watermarks', err); }
  }

  /** Every partition's published watermark. */
  async watermarks(): Promise<PartitionMark[]> {
    let h: Record<string, string>;
    try { h = await this.r.hgetall(this.key('watermarks')); } catch (err) { throw storeDown('read watermarks', err); }
    return Object.entries(h).map(([p, v]) => {
      const [wm, seen, behind] = v.split('|');
      return { partition: Number(p), watermarkUs: Number(wm), seenMs: Number(seen), behind: behind === '1' };
    });
  }

  /** Every agent's compact entry (one HGETALL). */
  async snapshots(): Promise<AgentSnapshot[]> {
    // The raw reply (field, value, ...): ioredis's hgetall builds an object of 30,000 keys first.
    let flat: string[];
    try { flat = (await this.r.call('HGETALL', this.key('summary'))) as string[]; } catch (err) { throw storeDown('read summary', err); }
    return snapshotsOf(flat);
  }

  /** Every agent's compact entry, the partitions' positions and their accuracy there, in one MULTI (what a summary is computed from). */
  async readSummary(): Promise<SummaryRead> {
    let res: Array<[Error | null, unknown]> | null;
    // Raw replies, as snapshots() reads them (the upper-case name skips ioredis's object reply).
    try {
      res = await this.r.multi().call('HGETALL', this.key('summary')).call('HGETALL', this.key('summarypos')).call('HGETALL', this.key('summaryacc')).exec();
    } catch (err) { throw storeDown('read summary', err); }
    const [entries, positions, accuracy] = res ?? [];
    if (!entries || !positions || !accuracy || entries[0] || positions[0] || accuracy[0]) {
      throw storeDown('read summary', entries?.[0] ?? positions?.[0] ?? accuracy?.[0] ?? new Error('MULTI aborted'));
    }
    const flat = positions[1] as string[];
    const out: SummaryPosition[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const m = /^(-?\d+)\|(-?\d+)$/.exec(flat[i + 1]!);
      if (m) out.push({ partition: Number(flat[i]), heartbeats_through: Number(m[1]), acks_through: Number(m[2]) });
    }
    out.sort((a, b) => a.partition - b.partition);
    return { agents: snapshotsOf(entries[1] as string[]), positions: out, accuracy: accuracyByPartition(accuracy[1] as string[]) };
  }

  /** Registry entries for scheduling; undefined for unknown agents. */
  async scheduleAgents(ids: readonly string[]): Promise<Map<string, ScheduleAgent>> {
    const p = this.r.pipeline();
    for (const id of ids) p.hmget(this.key(`agent:${id}`), 'class', 'lat', 'proc', 'n', 'queue', 'drift', 'rel', 'last_hb', 'state', 'caps', 'cluster', 'sector', 'pos');
    let res: Array<[Error | null, unknown]> | null;
    try { res = await p.exec(); } catch (err) { throw storeDown('read agents', err); }
    const out = new Map<string, ScheduleAgent>();
    ids.forEach((id, i) => {
      const [err, v] = res?.[i] ?? [null, null];
      if (err) throw storeDown('read agent', err);
      const f = v as Array<string | null>;
      if (!f || f[0] === null) return;
      out.set(id, {
        agentId: id, agentClass: f[0] as AgentClass, latencyMs: Number(f[1]), processingMs: Number(f[2]), sampleCount: Number(f[3]),
        queueDepth: Number(f[4]), drift: Number(f[5]), reliability: Number(f[6]), lastHeartbeatAt: Number(f[7]),
        state: STATE_OF[f[8] ?? ''] ?? 'OFFLINE', capabilities: f[9] ? f[9].split(',') : [], clusterId: f[10] ?? '', sectorId: f[11] ?? '',
        position: positionOf(f[12] ?? null),
      });
    });
    return out;
  }

  /** Members of an index: z:class:<c>, z:cluster:<id>, z:sector:<id>, z:cap:<c>. */
  async members(kind: 'class' | 'cluster' | 'sector' | 'capability', value: string): Promise<string[]> {
    const k = kind === 'capability' ? 'cap' : kind;
    // `class:D` (the selectors' letter) names the index of CLASS_D_GPU.
    if (kind === 'class' && /^[A-F]$/.test(value)) value = AGENT_CLASS_SYMBOLS.find((c) => c.startsWith(`CLASS_${value}_`)) ?? value;
    try { return await this.r.zrange(this.key(`z:${k}:${value}`), 0, -1); } catch (err) { throw storeDown('read index', err); }
  }

  /**
   * The `count` lowest-impedance ACTIVE agents with a capability (seed 002 §4.3
   * find_best_agents_for_capability), leaving out those behind an OPEN breaker (§6.2 is_routable),
   * weighted by load (seed 003): of the 2 x count lowest by impedance, the count lowest by
   * impedance x loadWeight(utilisation) (load.ts).
   */
  async best(capability: string, count: number, maxImpedance = 500): Promise<RoutedAgent[]> {
    return (await this.route(capability, count, maxImpedance)).agents;
  }

  /** best(), and the agents it left out because their cluster, sector or the mesh has an OPEN breaker. */
  async route(capability: string, count: number, maxImpedance = 500): Promise<{ agents: RoutedAgent[]; circuitOpen: RoutedAgent[] }> {
    const r = await readRestrictions(this);
    const out: RoutedAgent[] = [];
    const circuitOpen: RoutedAgent[] = [];
    const util = new Map<string, number | null>();
    const page = Math.max(count * 2, 16);
    // The pool: the 2 x count lowest-impedance routable agents, so load can reorder past the first count.
    const pool = 2 * count;
    for (let offset = 0; out.length < pool; offset += page) {
      let ids: string[];
      try { ids = await this.r.zrangebyscore(this.key(`z:cap:${capability}`), '-inf', maxImpedance, 'LIMIT', offset, page); } catch (err) { throw storeDown('read index', err); }
      if (ids.length === 0) break;
      const p = this.r.pipeline();
      for (const id of ids) p.hmget(this.key(`agent:${id}`), 'state', 'score', 'class', 'cluster', 'sector', 'util');
      const res = (await p.exec()) ?? [];
      ids.forEach((id, i) => {
        const f = res[i]?.[1] as Array<string | null> | undefined;
        if (out.length >= pool || !f || f[0] !== 'A') return;
        const a = { agentId: id, score: Number(f[1]), agentClass: f[2] as AgentClass, clusterId: f[3] ?? '' };
        if (circuitOpen_(r, { clusterId: a.clusterId, sectorId: f[4] ?? '' })) circuitOpen.push(a);
        else { out.push(a); util.set(id, f[5] ? Number(f[5]) : null); }
      });
      if (ids.length < page) break;
    }
    // The candidates come in impedance order; among them load decides (load.ts).
    const ranked = rankByLoad(out.map((a) => ({ ...a, utilisation: util.get(a.agentId) ?? null })), count)
      .map(({ utilisation: _u, ...a }) => a);
    return { agents: ranked, circuitOpen };
  }

  /** Accuracy over the hour before `atMs` (12 five-minute buckets), of every partition's fold as last written. */
  async accuracy(atMs: number): Promise<PredictionAccuracy> {
    let flat: string[];
    try { flat = (await this.r.call('HGETALL', this.key('summaryacc'))) as string[]; } catch (err) { throw storeDown('read accuracy', err); }
    return windowAccuracy(accuracyByPartition(flat).values(), atMs);
  }

  /** Remembers T of a schedule so acks without expected_arrival_at can be measured. */
  async rememberSchedule(messageId: string, targetArrivalUs: number): Promise<void> {
    try { await this.r.set(this.key(`sched:${messageId}`), String(targetArrivalUs), 'EX', 2 * 3600); } catch (err) { throw storeDown('remember schedule', err); }
  }

  async scheduledArrival(messageId: string): Promise<number | null> {
    try {
      const v = await this.r.get(this.key(`sched:${messageId}`));
      return v === null ? null : Number(v);
    } catch (err) {
      throw storeDown('read schedule', err);
    }
  }
}
