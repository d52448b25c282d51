// CPU per agent write of the Redis registry (this process and the Redis server), without Kafka:
// the agents a 30,000-agent mesh has changed every BENCH_EVERY heartbeats, written the way the
// processor writes them (chunks of 2000, one Lua call each, all partitions at once). With
// BENCH_IMPL (another implementation's directory, e.g. an older commit's services/impedance)
// both are run interleaved on the same agent states, and each run prints a digest of what it
// left in Redis (the summary size, one agent hash, one cluster index): equal digests, same registry.
//   BENCH_HEARTBEATS (600000)  BENCH_EVERY (100000: about one write per 3.3 heartbeats, as in
//   bench-impedance at ~70,000/s with IMPEDANCE_REGISTRY_LAG_MS=1000)  BENCH_RUNS (3)
import { createHash, randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { redisAuth } from '../../services/runtime/credentials';
import type { HeartbeatReceived } from '../../schemas/generated/events';
import { loadEventSchemas } from '../../schemas/catalog';
import { loadConfig } from '../../services/runtime/config';
import type { AgentState } from '../../services/impedance/agent-fold';
import { PartitionFold } from '../../services/impedance/partition-fold';
import * as current from '../../services/impedance/registry-store';
import { unlinkPrefixed } from '../../services/impedance/registry-store';
import { AGENTS, meshHeartbeats, redisCpu } from './fill';

const N = Number(process.env.BENCH_HEARTBEATS ?? 600_000);
const EVERY = Number(process.env.BENCH_EVERY ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PARTITIONS = 6;
const CHUNK = 2000;


async function run(impl: typeof current, redis: Redis, rounds: AgentState[][][]): Promise<{ node: number; redis: number; digest: string }> {
  const prefix = `bench-reg-${randomBytes(3).toString('hex')}:`;
  const store = new impl.RegistryStore(redis, prefix);
  let writes = 0;
  const cpu0 = process.cpuUsage();
  const redis0 = await redisCpu(redis);
  for (const round of rounds) {
    const all: Array<Promise<unknown>> = [];
    round.forEach((agents, p) => {
      for (let i = 0; i < agents.length; i += CHUNK) all.push(store.writeAgents(p, agents.slice(i, i + CHUNK)));
      writes += agents.length;
    });
    await Promise.all(all);
  }
  const cpu = process.cpuUsage(cpu0);
  const redisUs = ((await redisCpu(redis)) - redis0) * 1e6;
  const first = rounds[0]![0]![0]!;
  const left = [await redis.hlen(`${prefix}summary`), await redis.hgetall(`${prefix}agent:${first.agentId}`), await redis.zrange(`${prefix}z:cluster:${first.clusterId}`, 0, -1, 'WITHSCORES')];
  await unlinkPrefixed(redis, prefix);
  return { node: (cpu.user + cpu.system) / writes, redis: redisUs / writes, digest: createHash('sha256').update(JSON.stringify(left)).digest('hex').slice(0, 12) };
}

async function main(): Promise<void> {
  const impls: Array<[string, typeof current]> = [['current', current]];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (process.env.BENCH_IMPL) impls.unshift([process.env.BENCH_IMPL, require(`${process.env.BENCH_IMPL}/registry-store`) as typeof current]);
  const hbType = loadEventSchemas().get('HeartbeatReceived')!.type;
  const folds = Array.from({ length: PARTITIONS }, () => new PartitionFold());
  const rounds: AgentState[][][] = [];
  let i = 0;
  for (const generated of meshHeartbeats(N)) {
    const hb = hbType.fromBuffer(hbType.toBuffer(generated)) as HeartbeatReceived;
    folds[(i % AGENTS) % PARTITIONS]!.apply(hb);
    if (++i % EVERY === 0) rounds.push(folds.map((f) => { f.commit(); return f.takeDirty(); }));
  }
  const redis = new Redis(loadConfig(process.env).redisUrl, redisAuth());
  for (let r = 0; r < RUNS; r++) {
    for (const [name, impl] of impls) {
      const x = await run(impl, redis, rounds);
      process.stdout.write(`${name}: node ${x.node.toFixed(2)} cpu-µs, redis-server ${x.redis.toFixed(2)} cpu-µs per agent write; registry digest ${x.digest}\n`);
    }
  }
  redis.disconnect();
}

void main();
