// The runtime's own configuration, declared as knobs (knobs.ts) and read only from the
// environment, validated once at start.
import { randomUUID } from 'node:crypto';
import { CREDENTIAL_KNOBS } from './credentials';
import { defaultText, readKnobs, type KnobDecls, type KnobValues } from './knobs';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export const RUNTIME_KNOBS = {
  kafkaBrokers: { env: 'KAFKA_BROKERS', kind: 'list', default: ['127.0.0.1:9092'], item: { pattern: /^[^:\s]+:\d{1,5}$/, name: 'host:port' }, doc: 'Bootstrap brokers of the Kafka cluster.' },
  schemaRegistryUrl: { env: 'SCHEMA_REGISTRY_URL', kind: 'url', default: 'http://127.0.0.1:8081/apis/ccompat/v7', protocols: ['http:', 'https:'], doc: 'Confluent-compatible schema registry base URL.' },
  redisUrl: { env: 'REDIS_URL', kind: 'url', default: 'redis://127.0.0.1:6379', protocols: ['redis:', 'rediss:'], doc: 'Redis for projections (impedance registry).' },
  // rdkafka by default: kafkajs can lose acknowledged records when a broker dies
  // (tulios/kafkajs#1303, reproduced in test/e2e/three-brokers) and predates KIP-447.
  kafkaClient: { env: 'KAFKA_CLIENT', kind: 'enum', values: ['rdkafka', 'kafkajs'], default: 'rdkafka', doc: 'Client library behind the engine: rdkafka (node-rdkafka) or kafkajs.' },
  kafkaDebug: { env: 'KAFKA_DEBUG', kind: 'string', default: '', doc: 'librdkafka debug contexts (its `debug` property, e.g. `cgrp,fetch,eos,protocol`), logged at debug level under component `librdkafka` whatever LOG_LEVEL says; empty: none. Diagnostics only: verbose. rdkafka engine only.' },
  kafkaSendOffsetsBoundMs: { env: 'KAFKA_SEND_OFFSETS_BOUND_MS', kind: 'int', default: 35_000, min: 2_000, max: 3_600_000, doc: 'How long the rdkafka engine waits for sendOffsetsToTransaction before it gives its producer up: a new producer under the same transactional id fences it and aborts its open transaction, and the batch is consumed again. librdkafka is asked to keep 5 s less, but does not always (confluentinc/librdkafka#5456, #5511). rdkafka engine only.' },
  clientId: { env: 'CLIENT_ID', kind: 'string', default: 'solvermesh', doc: 'Kafka client id prefix.' },
  instanceId: { env: 'INSTANCE_ID', kind: 'string', default: () => randomUUID().slice(0, 8), defaultDoc: '(random)', doc: 'Stable id of this process, unique among the live ones; set it to a pod/host name. The consumer\'s group.instance.id (static membership: restarted under the same id, it gets its partitions back at once) and, on rdkafka, its transactional id (the restart fences the dead process).' },
  logLevel: { env: 'LOG_LEVEL', kind: 'enum', values: LOG_LEVELS, default: 'info', doc: 'pino level. Logs are NDJSON on stderr.' },
  /** 0 picks a free port (tests); the bound port is logged and exposed on the service. */
  httpPort: { env: 'HTTP_PORT', kind: 'int', default: 9400, min: 0, max: 65535, doc: 'Port of /health and /metrics (0 = any free port).' },
  httpHost: { env: 'HTTP_HOST', kind: 'string', default: '127.0.0.1', doc: 'Interface for /health and /metrics.' },
  maxRetries: { env: 'MAX_RETRIES', kind: 'int', default: 5, min: 0, max: 100, doc: 'Attempts for retriable errors before the batch is aborted and re-consumed.' },
  retryBackoffMs: { env: 'RETRY_BACKOFF_MS', kind: 'int', default: 200, min: 1, max: 60_000, doc: 'Initial retry backoff, doubled per attempt up to 30 s (or this value when it is longer).' },
  schemaIdGraceMs: { env: 'SCHEMA_ID_GRACE_MS', kind: 'int', default: 10_000, min: 0, max: 600_000, doc: 'How long a schema id the registry answers 404 for is asked again before its record is dead-lettered (a registry that lags). Once one id outlives it, unknown ids get no grace for a minute, so a flood of made-up ids cannot stall a partition.' },
  stallTimeoutMs: { env: 'STALL_TIMEOUT_MS', kind: 'int', default: 60_000, min: 1_000, max: 3_600_000, doc: '/health turns 503 when lag exists and no offset advanced for this long.' },
  maxEventTimeSkewMs: { env: 'MAX_EVENT_TIME_SKEW_MS', kind: 'int', default: 300_000, min: 0, max: 31_536_000_000, doc: 'How far a record\'s event time (`meta.occurred_at`) may be ahead of its Kafka timestamp; a record further ahead goes to the DLQ (EVENT_TIME_SKEW) instead of moving its partition\'s watermark (every session evicted, every agent offline). Keep it under the impedance offline timeout (30 s) where producers\' clocks are synchronised.' },
  maxEventTimeAgeMs: { env: 'MAX_EVENT_TIME_AGE_MS', kind: 'int', default: 157_680_000_000, min: 0, max: 3_153_600_000_000, doc: 'How far a record\'s event time may be behind its Kafka timestamp (default 5 years): catches zero, negative and milliseconds-for-microseconds times, while copies and ticks a service writes as it catches up keep their older event time.' },
  maxRecordBytes: { env: 'MAX_RECORD_BYTES', kind: 'int', default: 1_000_000, min: 1024, max: 100_000_000, doc: 'Largest record value a service decodes and the CLI and gateway produce (librdkafka\'s message.max.bytes, which the services\' producers keep); a larger input goes to the DLQ (OVERSIZED), its copy cut to fit with the original size in a header.' },
  meshSigning: { env: 'MESH_SIGNING', kind: 'enum', values: ['required', 'off'], default: 'required', doc: 'Signed agent messages (seed 002 §9.1): `required` verifies every heartbeat, ack and verifier vote against the sender\'s keys on mesh.agent-keys and its sequence, and refuses unsigned ones (dead letter + HASH_MISMATCH conflict); senders sign. `off` (load tests only): nobody signs or verifies; heartbeat rate limiting still runs.' },
  structuralLagRecords: { env: 'STRUCTURAL_LAG_RECORDS', kind: 'int', default: 100_000, min: 0, max: 1_000_000_000, doc: 'A service whose consumer is more than this many records behind a partition\'s end when a batch of it commits reports a `StructuralEventObserved` RESOURCE_SPIKE `consumer_lag` on `mesh.witnesses` (once, and again only after the lag came back to half of it). 0: never.' },
  keysPollMs: { env: 'KEYS_POLL_MS', kind: 'int', default: 2000, min: 0, max: 600_000, doc: 'How often a verifying service reads mesh.agent-keys for rotations and revocations, ms (0: only when a message names a key it does not know).' },
  ...CREDENTIAL_KNOBS,
  topicPrefix: { env: 'TOPIC_PREFIX', kind: 'string', default: '', doc: 'Prefix for every topic name (tests and tenants are isolated by it).' },
} as const satisfies KnobDecls;

export type RuntimeConfig = KnobValues<typeof RUNTIME_KNOBS>;
export type KafkaClientKind = RuntimeConfig['kafkaClient'];

/** The runtime's variables as documentation lists them, derived from the declarations. */
export const CONFIG_DOC: ReadonlyArray<{ env: string; default: string; doc: string }> =
  Object.values(RUNTIME_KNOBS).map((k) => ({ env: k.env, default: defaultText(k), doc: k.doc }));

/** The runtime's knobs alone (tools that start no service); `env` defaults to the process's. */
export function loadConfig(env?: NodeJS.ProcessEnv): RuntimeConfig {
  return readKnobs(RUNTIME_KNOBS, env);
}
