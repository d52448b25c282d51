// Configuration comes only from the environment, validated once at start. Every problem is
// reported at once, each with what to set, so a misconfigured deploy fails in one round trip.
import { randomUUID } from 'node:crypto';
import { SolvermeshError } from './errors';

export type KafkaClientKind = 'kafkajs' | 'rdkafka';

export interface RuntimeConfig {
  readonly kafkaBrokers: string[];
  readonly schemaRegistryUrl: string;
  readonly redisUrl: string;
  readonly kafkaClient: KafkaClientKind;
  readonly clientId: string;
  readonly instanceId: string;
  readonly logLevel: string;
  /** 0 picks a free port (tests); the bound port is logged and exposed on the service. */
  readonly httpPort: number;
  readonly httpHost: string;
  readonly maxRetries: number;
  readonly retryBackoffMs: number;
  /** A consumer with lag that has not advanced for this long reports unhealthy. */
  readonly stallTimeoutMs: number;
  readonly topicPrefix: string;
}

export const CONFIG_DOC: ReadonlyArray<{ env: string; default: string; doc: string }> = [
  { env: 'KAFKA_BROKERS', default: '127.0.0.1:9092', doc: 'Comma-separated bootstrap brokers host:port.' },
  { env: 'SCHEMA_REGISTRY_URL', default: 'http://127.0.0.1:8081/apis/ccompat/v7', doc: 'Confluent-compatible schema registry base URL.' },
  { env: 'REDIS_URL', default: 'redis://127.0.0.1:6379', doc: 'Redis for projections (impedance registry).' },
  { env: 'KAFKA_CLIENT', default: 'rdkafka', doc: 'Client library behind the engine: rdkafka (node-rdkafka) or kafkajs.' },
  { env: 'CLIENT_ID', default: 'solvermesh', doc: 'Kafka client id prefix.' },
  { env: 'INSTANCE_ID', default: '(random)', doc: 'Stable id of this process, unique among the live ones (a pod name): its consumer group.instance.id (static membership: restarted under the same id, it gets its partitions back at once) and, on rdkafka, its transactional id (the restart fences the dead process).' },
  { env: 'LOG_LEVEL', default: 'info', doc: 'pino level: trace, debug, info, warn, error, fatal, silent.' },
  { env: 'HTTP_PORT', default: '9400', doc: 'Port of /health and /metrics (0 = any free port).' },
  { env: 'HTTP_HOST', default: '127.0.0.1', doc: 'Interface for /health and /metrics.' },
  { env: 'MAX_RETRIES', default: '5', doc: 'Attempts for retriable errors before the batch is aborted and re-consumed.' },
  { env: 'RETRY_BACKOFF_MS', default: '200', doc: 'Initial retry backoff, doubled per attempt.' },
  { env: 'STALL_TIMEOUT_MS', default: '60000', doc: 'Health turns red when lag exists and no offset advanced for this long.' },
  { env: 'TOPIC_PREFIX', default: '', doc: 'Prefix for every topic name (isolates tests and tenants).' },
];

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export function loadConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const problems: string[] = [];
  const str = (name: string, def: string) => (env[name] ?? '').trim() || def;
  const int = (name: string, def: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}=${JSON.stringify(raw)} is not an integer in [${min}, ${max}]; set it to e.g. ${def}`);
      return def;
    }
    return n;
  };

  const brokers = str('KAFKA_BROKERS', '127.0.0.1:9092').split(',').map((b) => b.trim()).filter(Boolean);
  for (const b of brokers) {
    if (!/^[^:\s]+:\d{1,5}$/.test(b)) problems.push(`KAFKA_BROKERS entry ${JSON.stringify(b)} is not host:port; set KAFKA_BROKERS=127.0.0.1:9092`);
  }
  const url = (name: string, def: string, protocols: string[]) => {
    const v = str(name, def);
    try {
      const u = new URL(v);
      if (!protocols.includes(u.protocol)) problems.push(`${name}=${v} must use ${protocols.join(' or ')}`);
    } catch {
      problems.push(`${name}=${JSON.stringify(v)} is not a URL; set it to e.g. ${def}`);
    }
    return v.replace(/\/+$/, '');
  };
  // rdkafka by default: kafkajs can lose acknowledged records when a broker dies
  // (tulios/kafkajs#1303, reproduced in test/e2e/three-brokers) and predates KIP-447.
  const kafkaClient = str('KAFKA_CLIENT', 'rdkafka');
  if (kafkaClient !== 'kafkajs' && kafkaClient !== 'rdkafka') {
    problems.push(`KAFKA_CLIENT=${JSON.stringify(kafkaClient)} must be kafkajs or rdkafka`);
  }
  const logLevel = str('LOG_LEVEL', 'info');
  if (!LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL=${logLevel} must be one of ${LEVELS.join(', ')}`);

  const config: RuntimeConfig = {
    kafkaBrokers: brokers,
    schemaRegistryUrl: url('SCHEMA_REGISTRY_URL', 'http://127.0.0.1:8081/apis/ccompat/v7', ['http:', 'https:']),
    redisUrl: url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']),
    kafkaClient: kafkaClient as KafkaClientKind,
    clientId: str('CLIENT_ID', 'solvermesh'),
    instanceId: str('INSTANCE_ID', randomUUID().slice(0, 8)),
    logLevel,
    httpPort: int('HTTP_PORT', 9400, 0, 65535),
    httpHost: str('HTTP_HOST', '127.0.0.1'),
    maxRetries: int('MAX_RETRIES', 5, 0, 100),
    retryBackoffMs: int('RETRY_BACKOFF_MS', 200, 1, 60_000),
    stallTimeoutMs: int('STALL_TIMEOUT_MS', 60_000, 1_000, 3_600_000),
    topicPrefix: str('TOPIC_PREFIX', ''),
  };
  if (problems.length > 0) {
    throw new SolvermeshError('CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
  return config;
}
