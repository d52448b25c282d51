// Who this process is to Kafka, Redis and the schema registry (issue 20). Names come from the
// environment; secrets from a file (KAFKA_SASL_PASSWORD_FILE ...) or, for Kafka, the environment,
// never from the command line, where every local user can read them in /proc. Every client is
// created through these readers, so a process speaks to a secured cluster without each call site
// knowing about credentials. Unset, nothing changes: the default stack has no authentication.
import { readFileSync } from 'node:fs';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { SolvermeshError } from './errors';
import { readKnobs, type KnobDecls } from './knobs';

export const CREDENTIAL_KNOBS = {
  kafkaSaslMechanism: { env: 'KAFKA_SASL_MECHANISM', kind: 'enum', values: ['none', 'scram-sha-512', 'scram-sha-256'], default: 'none', doc: 'SASL mechanism towards Kafka (none: the plaintext default stack). `make up SECURE=1` brokers take scram-sha-512.' },
  kafkaSaslUsername: { env: 'KAFKA_SASL_USERNAME', kind: 'string', default: '', doc: 'Kafka principal of this process (one per service: its ACLs are what it may read and write).' },
  kafkaSaslPasswordFile: { env: 'KAFKA_SASL_PASSWORD_FILE', kind: 'string', default: '', doc: 'File holding the Kafka principal\'s password (preferred over KAFKA_SASL_PASSWORD).' },
  kafkaSaslPassword: { env: 'KAFKA_SASL_PASSWORD', kind: 'string', default: '', secret: true, doc: 'The Kafka principal\'s password itself, when no file is given; never shown by `solvermesh config`.' },
  redisUsername: { env: 'REDIS_USERNAME', kind: 'string', default: '', doc: 'Redis ACL user (else the one in REDIS_URL, else default).' },
  redisPasswordFile: { env: 'REDIS_PASSWORD_FILE', kind: 'string', default: '', doc: 'File holding the Redis user\'s password (else the one in REDIS_URL).' },
  schemaRegistryUsername: { env: 'SCHEMA_REGISTRY_USERNAME', kind: 'string', default: '', doc: 'Identity towards the schema registry (HTTP basic auth; the secured stack\'s proxy lets only the operator register).' },
  schemaRegistryPasswordFile: { env: 'SCHEMA_REGISTRY_PASSWORD_FILE', kind: 'string', default: '', doc: 'File holding the schema registry password.' },
} as const satisfies KnobDecls;

export interface SaslCredentials {
  readonly mechanism: 'scram-sha-512' | 'scram-sha-256';
  readonly username: string;
  readonly password: string;
}

function secretFile(env: string, path: string): string {
  try {
    // One trailing newline is how editors and `echo` leave a file; the secret is the line.
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new SolvermeshError('CONFIG_INVALID', `${env}=${JSON.stringify(path)}: cannot read the secret file (${(err as Error).message})`);
  }
}

/** The Kafka SASL identity the environment names, or undefined for the unauthenticated default. */
export function kafkaSasl(env: NodeJS.ProcessEnv = process.env): SaslCredentials | undefined {
  const k = readKnobs(CREDENTIAL_KNOBS, env);
  if (k.kafkaSaslMechanism === 'none') return undefined;
  if (k.kafkaSaslUsername === '') throw new SolvermeshError('CONFIG_INVALID', `KAFKA_SASL_MECHANISM=${k.kafkaSaslMechanism} needs KAFKA_SASL_USERNAME`);
  const password = k.kafkaSaslPasswordFile !== '' ? secretFile('KAFKA_SASL_PASSWORD_FILE', k.kafkaSaslPasswordFile) : k.kafkaSaslPassword;
  if (password === '') throw new SolvermeshError('CONFIG_INVALID', `KAFKA_SASL_MECHANISM=${k.kafkaSaslMechanism} needs KAFKA_SASL_PASSWORD_FILE (or KAFKA_SASL_PASSWORD)`);
  return { mechanism: k.kafkaSaslMechanism, username: k.kafkaSaslUsername, password };
}

/** kafkajs client settings: `new Kafka(kafkajsConfig({...}))` everywhere a kafkajs client is made. */
export function kafkajsConfig(config: KafkaConfig, env?: NodeJS.ProcessEnv): KafkaConfig {
  const sasl = kafkaSasl(env);
  if (!sasl) return config;
  // SASL over plaintext: the secured local stack listens on loopback only (README "Security").
  const options: SASLOptions = { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password };
  return { ...config, sasl: options, ssl: false };
}

/** librdkafka properties to spread into every node-rdkafka client's global config. */
export function rdkafkaAuth(env?: NodeJS.ProcessEnv): Record<string, string> {
  const sasl = kafkaSasl(env);
  if (!sasl) return {};
  return { 'security.protocol': 'sasl_plaintext', 'sasl.mechanisms': sasl.mechanism.toUpperCase(), 'sasl.username': sasl.username, 'sasl.password': sasl.password };
}

/** ioredis options naming the ACL user, when the environment gives one apart from REDIS_URL. */
export function redisAuth(env?: NodeJS.ProcessEnv): { username?: string; password?: string } {
  const k = readKnobs(CREDENTIAL_KNOBS, env);
  return {
    ...(k.redisUsername !== '' ? { username: k.redisUsername } : {}),
    ...(k.redisPasswordFile !== '' ? { password: secretFile('REDIS_PASSWORD_FILE', k.redisPasswordFile) } : {}),
  };
}

/** HTTP basic credentials for the schema registry, or undefined. */
export function registryAuth(env?: NodeJS.ProcessEnv): { username: string; password: string } | undefined {
  const k = readKnobs(CREDENTIAL_KNOBS, env);
  if (k.schemaRegistryUsername === '') return undefined;
  const password = k.schemaRegistryPasswordFile !== '' ? secretFile('SCHEMA_REGISTRY_PASSWORD_FILE', k.schemaRegistryPasswordFile) : '';
  return { username: k.schemaRegistryUsername, password };
}

export const basicAuthHeader = (c: { username: string; password: string }) => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
