// One 5 s summary tick at 30,000 agents on 6 partitions, as the processor does it: every
// partition's agents written (the writes before a tick), then the registry read and summarised.
// Wall and CPU time of the tick's read + summarize, wall time of the writes, and how long a small
// read on another connection (10 agents' entries, as a schedule reads them) waits when sent as
// the writes start: a write's chunks in one MULTI hold other clients for the whole write. With
// BENCH_IMPL (another implementation's directory, e.g. an older commit's services/impedance) both
// run interleaved on the same agent states.
//   BENCH_RUNS (15)
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import type { HeartbeatReceived } from '../../schemas/generated/events';
import { loadEventSchemas } from '../../schemas/catalog';
import { redisAuth } from '../../services/runtime/credentials';
import { loadConfig } from '../../services/runtime/config';
import type { AgentState } from '../../services/impedance/agent-fold';
import { PartitionFold } from '../../services/impedance/partition-fold';
import * as store from '../../services/impedance/registry-store';
import * as summaries from '../../services/impedance/summaries';
import { AGENTS, meshHeartbeats, median } from './fill';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const PARTITIONS = 6;
type Impl = typeof store & typeof summaries;

/** The writes and the tick as `impl` does them; `chunked`: an implementation that wrote a partition's chunks as separate calls. */
async function tick(impl: Impl, redis: Redis, reader: Redis, parts: AgentState[][], t0: number, chunked: boolean): Promise<{ write: number; wait: number; wall: number; cpu: number }> {
  const prefix = `bench-tick-${randomBytes(3).toString('hex')}:`;
  const s = new impl.RegistryStore(redis, prefix);
  const other = new impl.RegistryStore(reader, prefix);
  const ids = parts.map((p) => p[0]!.agentId).concat(parts[0]!.slice(1, 5).map((a) => a.agentId));
  // Built first (a first write), so the timed one is a rewrite.
  await Promise.all(parts.map((agents, p) => s.writeAgents(p, agents, { heartbeatsThrough: 1, acksThrough: -1 }, true)));
  const at = { heartbeatsThrough: 2, acksThrough: -1 };
  const w0 = performance.now();
  const writes = parts.flatMap((agents, p) => (chunked
    ? Array.from({ length: Math.ceil(agents.length / store.WRITE_CHUNK) }, (_, i) => s.writeAgents(p, agents.slice(i * store.WRITE_CHUNK, (i + 1) * store.WRITE_CHUNK), at))
    : [s.writeAgents(p, agents, at)]));
  const waited = other.scheduleAgents(ids).then(() => performance.now() - w0);
  await Promise.all(writes);
  const write = performance.now() - w0;
  const wait = await waited;
  const c0 = process.cpuUsage();
  const r0 = performance.now();
  const read = 'readSummary' in s && !chunked
    ? await Promise.all([s.readSummary(), s.accuracy(t0 / 1000)]).then(([x, acc]) => impl.summarize(x.agents, t0, acc, x.positions))
    : await Promise.all([s.snapshots(), s.accuracy(t0 / 1000)]).then(([x, acc]) => impl.summarize(x, t0, acc));
  const wall = performance.now() - r0;
  const d = process.cpuUsage(c0);
  if (read.mesh.total_agents !== AGENTS) throw new Error(`summarised ${read.mesh.total_agents} agents`);
  await store.unlinkPrefixed(redis, prefix);
  return { write, wait, wall, cpu: (d.user + d.system) / 1000 };
}

async function main(): Promise<void> {
  const impls: Array<[string, Impl, boolean]> = [['current', { ...store, ...summaries }, false]];
  if (process.env.BENCH_IMPL) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    impls.unshift([process.env.BENCH_IMPL, { ...require(`${process.env.BENCH_IMPL}/registry-store`), ...require(`${process.env.BENCH_IMPL}/summaries`) } as Impl, true]);
  }
  const hbType = loadEventSchemas().get('HeartbeatReceived')!.type;
  const folds = Array.from({ length: PARTITIONS }, () => new PartitionFold());
  let i = 0;
  let t0 = 0;
  for (const generated of meshHeartbeats(AGENTS)) {
    const hb = hbType.fromBuffer(hbType.toBuffer(generated)) as HeartbeatReceived;
    folds[i++ % PARTITIONS]!.apply(hb, i);
    t0 = Math.max(t0, hb.meta.occurred_at);
  }
  const parts = folds.map((f) => [...f.agents.values()].map((a) => ({ ...a })));
  const redis = new Redis(loadConfig(process.env).redisUrl, redisAuth());
  const reader = new Redis(loadConfig(process.env).redisUrl, redisAuth());
  const results = impls.map(() => [] as Array<Awaited<ReturnType<typeof tick>>>);
  for (let r = 0; r < RUNS; r++) for (const [k, [, impl, chunked]] of impls.entries()) results[k]!.push(await tick(impl, redis, reader, parts, t0, chunked));
  redis.disconnect();
  reader.disconnect();
  impls.forEach(([name], k) => {
    const m = (f: (x: Awaited<ReturnType<typeof tick>>) => number) => median(results[k]!.map(f)).toFixed(1);
    process.stdout.write(`${name}: ${AGENTS} agents, ${PARTITIONS} partitions, medians of ${RUNS}: tick read + summarize ${m((x) => x.wall)} ms wall, ${m((x) => x.cpu)} cpu-ms; ` +
      `writes of every agent ${m((x) => x.write)} ms; a 10-agent read sent with them answered after ${m((x) => x.wait)} ms\n`);
  });
}

void main();
