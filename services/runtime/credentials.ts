// Who this process is to Kafka, Redis and the schema registry (issue 20). Names come from the
// environment; secrets from a file (KAFKA_SASL_PASSWORD_FILE ...) or, for Kafka, the environment,
// never from the command line, where every local user can read them in /proc. Every client is
// created through these readers, so a process speaks to a secured cluster without each call site
// knowing about credentials. Unset, nothing changes: the default stack has no authentication.
import { readFileSync } from 'node:fs';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { SolvermeshError } from './errors';
import { readKnobs, type KnobDecls } from './knobs';
import './kafka/kafkajs-request-queue';

export const CREDENTIAL_KNOBS = {
  kafkaSaslMechanism: { env: 'KAFKA_SASL_MECHANISM', kind: 'enum', values: ['none', 'scram-sha-512', 'scram-sha-256'], default: 'none', doc: 'SASL mechanism towards Kafka (none: the plaintext default stack). `make up SECURE=1` brokers take scram-sha-512.' },
  kafkaSaslUsername: { env: 'KAFKA_SASL_USERNAME', kind: 'string', default: '', doc: 'Kafka principal of this process (one per service: its ACLs are what it may read and write).' },
  kafkaSaslPasswordFile: { env: 'KAFKA_SASL_PASSWORD_FILE', kind: 'string', default: '', doc: 'File holding the Kafka principal\'s password (preferred over KAFKA_SASL_PASSWORD).' },
  kafkaSaslPassword: { env: 'KAFKA_SASL_PASSWORD', kind: 'string', default: '', secret: true, doc: 'The Kafka principal\'s password itself, when no file is given; never shown by `solvermesh config`.' },
  kafkaSslCaFile: { env: 'KAFKA_SSL_CA_FILE', kind: 'string', default: '', doc: 'PEM file of the CA the brokers\' certificates are checked against; set, every Kafka client speaks TLS (SASL_SSL with a SASL mechanism). `make up SECURE=1` writes `.infra/secure/tls/ca.crt`.' },
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
    throw new SolvermeshError('CONFIG_INVALID', `${env}=${JSON.stringify(path)}: cannot read the file (${(err as Error).message})`);
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

/**
 * The CA file the environment names for TLS towards Kafka, or undefined for plaintext. Only this
 * CA is trusted (not the system's): the secured stack's brokers present a certificate it signed.
 */
export function kafkaSslCaFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const k = readKnobs(CREDENTIAL_KNOBS, env);
  return k.kafkaSslCaFile === '' ? undefined : k.kafkaSslCaFile;
}

/** kafkajs client settings: `new Kafka(kafkajsConfig({...}))` everywhere a kafkajs client is made. */
export function kafkajsConfig(config: KafkaConfig, env?: NodeJS.ProcessEnv): KafkaConfig {
  const sasl = kafkaSasl(env);
  const caFile = kafkaSslCaFile(env);
  // Node's TLS checks the chain against `ca` alone and the host name (127.0.0.1) against the SAN.
  const ssl = caFile === undefined ? {} : { ssl: { ca: [secretFile('KAFKA_SSL_CA_FILE', caFile)], rejectUnauthorized: true } };
  if (!sasl) return { ...config, ...ssl };
  const options: SASLOptions = { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password };
  return { ...config, ssl: false, ...ssl, sasl: options };
}

/** librdkafka properties to spread into every node-rdkafka client's global config. */
export function rdkafkaAuth(env?: NodeJS.ProcessEnv): Record<string, string> {
  const sasl = kafkaSasl(env);
  const caFile = kafkaSslCaFile(env);
  // librdkafka reads the CA file itself; `https` makes it check the broker's name too (its default
  // since 2.0, said here so a different build cannot silently skip it).
  const tls: Record<string, string> = caFile === undefined ? {} : { 'ssl.ca.location': caFile, 'ssl.endpoint.identification.algorithm': 'https' };
  if (!sasl && caFile === undefined) return {};
  const protocol = sasl ? (caFile !== undefined ? 'sasl_ssl' : 'sasl_plaintext') : 'ssl';
  const auth: Record<string, string> = sasl ? { 'sasl.mechanisms': sasl.mechanism.toUpperCase(), 'sasl.username': sasl.username, 'sasl.password': sasl.password } : {};
  return { 'security.protocol': protocol, ...tls, ...auth };
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

/**
 * An identity's environment file (`KEY=value` lines, as infra/secure.sh writes
 * `.infra/secure/<service>.env`): names and secret-file paths, never secrets themselves.
 */
export function readEnvFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SolvermeshError('CONFIG_INVALID', `${path}: cannot read the identity's environment (${(err as Error).message})`);
  }
  return Object.fromEntries(text.split('\n').filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}
