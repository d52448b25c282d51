// CPU of one 5 s summary tick at 30,000 agents: the registry's summary hash read (one HGETALL)
// and summarised, as the processor does. With BENCH_IMPL (another implementation's directory,
// e.g. an older commit's services/impedance) both run interleaved and the summaries are compared.
//   BENCH_RUNS (20)
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { redisAuth } from '../../services/runtime/credentials';
import { loadConfig } from '../../services/runtime/config';
import * as store from '../../services/impedance/registry-store';
import * as summaries from '../../services/impedance/summaries';
import { buildMesh, prng } from '../../services/simulator/generator';
import { AGENTS, median } from './fill';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
type Impl = typeof store & typeof summaries;

async function main(): Promise<void> {
  const impls: Array<[string, Impl]> = [['current', { ...store, ...summaries }]];
  if (process.env.BENCH_IMPL) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    impls.unshift([process.env.BENCH_IMPL, { ...require(`${process.env.BENCH_IMPL}/registry-store`), ...require(`${process.env.BENCH_IMPL}/summaries`) } as Impl]);
  }
  const redis = new Redis(loadConfig(process.env).redisUrl, redisAuth());
  const prefix = `bench-summ-${randomBytes(3).toString('hex')}:`;
  const rand = prng(3);
  const t0 = Date.now() * 1000;
  const args: string[] = [];
  for (const a of buildMesh(AGENTS, 1)) args.push(a.agentId, `${rand() * 500}|${rand() < 0.9 ? 'A' : 'D'}|${t0 - Math.floor(rand() * 40e6)}|${a.clusterId}|${a.sectorId}|${rand() * 0.6}`);
  await redis.hset(`${prefix}summary`, ...args);
  const cpu: number[][] = impls.map(() => []);
  const out: string[] = [];
  for (let r = 0; r < RUNS; r++) {
    for (const [k, [, impl]] of impls.entries()) {
      const s = new impl.RegistryStore(redis, prefix);
      const cpu0 = process.cpuUsage();
      const result = impl.summarize(await s.snapshots(), t0);
      const d = process.cpuUsage(cpu0);
      cpu[k]!.push((d.user + d.system) / 1000);
      out[k] = JSON.stringify(result);
    }
  }
  await redis.del(`${prefix}summary`);
  redis.disconnect();
  impls.forEach(([name], k) => process.stdout.write(`${name}: snapshots + summarize of ${AGENTS} agents, median ${median(cpu[k]!).toFixed(1)} cpu-ms per tick (${RUNS} runs)\n`));
  if (out.length > 1) process.stdout.write(`same summaries: ${out.every((x) => x === out[0])}\n`);
}

void main();
