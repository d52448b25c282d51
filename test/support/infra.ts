// Where integration tests find Kafka, the registry and Redis: the environment when it names
// them; otherwise containers when a Docker engine answers; otherwise the servers infra/ starts
// (started here if they are not running). Memoised: one answer per test process.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getContainerRuntimeClient } from 'testcontainers';
import { startContainers } from './containers';

export interface InfraEnv {
  readonly KAFKA_BROKERS: string;
  readonly SCHEMA_REGISTRY_URL: string;
  readonly REDIS_URL: string;
}

const ROOT = join(__dirname, '..', '..');
let ready: Promise<InfraEnv> | undefined;

export function ensureInfra(): Promise<InfraEnv> {
  ready ??= resolveInfra();
  return ready;
}

async function dockerAnswers(): Promise<boolean> {
  try {
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

async function resolveInfra(): Promise<InfraEnv> {
  const { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL } = process.env;
  if (KAFKA_BROKERS && SCHEMA_REGISTRY_URL && REDIS_URL) return { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL };
  if (await dockerAnswers()) {
    return publish(await startContainers());
  }
  execFileSync('bash', [join(ROOT, 'infra', 'up.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  const file = join(ROOT, '.infra', 'env');
  if (!existsSync(file)) throw new Error(`infra/up.sh did not write ${file}`);
  const env = Object.fromEntries(
    readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  ) as unknown as InfraEnv;
  return publish(env);
}

function publish(env: InfraEnv): InfraEnv {
  process.env.KAFKA_BROKERS = env.KAFKA_BROKERS;
  process.env.SCHEMA_REGISTRY_URL = env.SCHEMA_REGISTRY_URL;
  process.env.REDIS_URL = env.REDIS_URL;
  return env;
}
