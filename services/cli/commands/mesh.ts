// `solvermesh mesh best|status`: routing queries and the status box, answered from the registry.
import type { Command } from 'commander';
import { registryPrefix } from '../../impedance';
import { connectRedis, RegistryStore } from '../../impedance/registry-store';
import { formatStatusBox, meshStatus } from '../../impedance/status';
import { loadConfig } from '../../runtime/config';

export async function withStore<T>(env: NodeJS.ProcessEnv, fn: (s: RegistryStore) => Promise<T>): Promise<T> {
  const config = loadConfig(env);
  const redis = connectRedis(config.redisUrl);
  try {
    return await fn(new RegistryStore(redis, registryPrefix(config.topicPrefix)));
  } finally {
    redis.disconnect();
  }
}

export async function meshBest(env: NodeJS.ProcessEnv, o: { capability: string; count: number; maxImpedance: number }): Promise<string> {
  return withStore(env, async (store) => {
    const t0 = process.hrtime.bigint();
    const best = await store.best(o.capability, o.count, o.maxImpedance);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const rows = best.map((b, i) => `${String(i + 1).padStart(3)}  ${b.agentId.padEnd(16)} ${b.score.toFixed(1).padStart(7)}  ${b.agentClass.padEnd(19)} ${b.clusterId}`);
    return [`${best.length} active agents with ${o.capability} under impedance ${o.maxImpedance} (${ms.toFixed(2)} ms)`, ...rows].join('\n');
  });
}

export function register(program: Command): void {
  const mesh = program.command('mesh').description('query the impedance registry (Redis)');
  mesh
    .command('best')
    .description('the lowest-impedance active agents with a capability (seed 002 §4.3)')
    .requiredOption('--capability <c>', 'capability the agents need')
    .option('--count <n>', 'how many agents', (v) => Number.parseInt(v, 10), 5)
    .option('--max-impedance <z>', 'highest impedance score accepted (0-1000)', (v) => Number(v), 500)
    .action(async (o: { capability: string; count: number; maxImpedance: number }) => {
      process.stdout.write(`${await meshBest(process.env, o)}\n`);
    });
  mesh
    .command('status')
    .description('the mesh status box: agents active, sectors healthy, mean impedance, conflicts, mode')
    .action(async () => {
      process.stdout.write(`${formatStatusBox(await withStore(process.env, (s) => meshStatus(s)))}\n`);
    });
}
