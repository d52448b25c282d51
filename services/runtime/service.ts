// Boots one processor as a service: config, logger, engine, codec, runner, /health and
// /metrics, and a SIGTERM/SIGINT handler that drains (the in-flight batch commits) and exits.
import { RUNTIME_KNOBS, type RuntimeConfig } from './config';
import { EventCodec } from './codec';
import { createEngine } from './engine';
import { startOpsServer, type OpsServer } from './http';
import { createLogger, type Logger } from './logger';
import { combineKnobs, readKnobs, type KnobDecls, type KnobValues } from './knobs';
import { createMetrics } from './metrics';
import type { ConsumerTuning } from './kafka/types';
import type { EventValidator, Processor, ProcessorContext } from './processor';
import { ProcessorRunner } from './runner';
import { schemaValidator } from './validation';
import { DEFAULT_UNKNOWN_ID_POLICY } from './unknown-schema-ids';
import { withEventTimeBound, type EventTimeBound } from './event-time';
import { consumerLagReporter, serviceStructuralEmitter } from './structural';

/** The runtime's configuration and the service's own knobs, read in one call. */
export type ServiceConfig<K extends KnobDecls = {}> = RuntimeConfig & KnobValues<K>;

// processor and runnerTuning are methods so that a service with its own knobs is still a
// ServiceDefinition of the registry (method parameters are compared bivariantly).
interface ServiceParts<K extends KnobDecls> {
  readonly name: string;
  processor(config: ServiceConfig<K>, logger: Logger, ctx: ProcessorContext): Processor | Promise<Processor>;
  /** Defaults to the schema annotations and per-event rules (schemas/validate.ts). */
  readonly validate?: EventValidator;
  readonly maxBatchRecords?: number;
  readonly consumerTuning?: ConsumerTuning;
  /** The consumer group, when it is not `solvermesh.<name>` (one group per verifier group). */
  groupId?(config: ServiceConfig<K>): string;
  /** Runner settings taken from the service's knobs; they win over the two fixed ones above. */
  runnerTuning?(config: ServiceConfig<K>): { readonly maxBatchRecords?: number; readonly consumerTuning?: ConsumerTuning };
}

/**
 * A service's own knobs are read with the runtime's, so one error names every bad variable of
 * the process; a definition that types knobs must declare them.
 */
export type ServiceDefinition<K extends KnobDecls = {}> = ServiceParts<K> & ({} extends K ? { readonly knobs?: K } : { readonly knobs: K });

/** Reads everything a service is configured by; throws one CONFIG_INVALID naming every bad variable. */
export function readServiceConfig<K extends KnobDecls>(def: ServiceDefinition<K>, env?: NodeJS.ProcessEnv): ServiceConfig<K> {
  // Absent only when {} extends K: ServiceDefinition requires knobs otherwise.
  return readKnobs(combineKnobs(RUNTIME_KNOBS, (def.knobs ?? {}) as K), env);
}

/** A service that is not a consume-transform-produce processor (the gateway): it wires and runs itself until a signal. */
export interface StandaloneService {
  readonly name: string;
  run(): Promise<void>;
}

export interface RunningService {
  readonly runner: ProcessorRunner;
  readonly ops: OpsServer;
  stop(): Promise<void>;
}

export async function startService<K extends KnobDecls>(def: ServiceDefinition<K>, env?: NodeJS.ProcessEnv): Promise<RunningService> {
  const config = readServiceConfig(def, env);
  const tuning = { maxBatchRecords: def.maxBatchRecords, consumerTuning: def.consumerTuning, ...def.runnerTuning?.(config) };
  const logger = createLogger(config.logLevel, def.name);
  const metrics = createMetrics(def.name);
  const codec = new EventCodec(config.schemaRegistryUrl, undefined, { unknownIds: { ...DEFAULT_UNKNOWN_ID_POLICY, graceMs: config.schemaIdGraceMs } });
  const validate = def.validate ?? schemaValidator();
  const eventTime = eventTimeBound(config);
  const groupId = def.groupId?.(config) ?? `${config.topicPrefix}solvermesh.${def.name}`;
  // A restore folds what the runner folded: the same validation and event-time bound.
  const processor = await def.processor(config, logger, { registry: metrics.registry, codec, validate: withEventTimeBound(validate, eventTime), groupId });
  // Its producer connects at the first observation only.
  const structural = config.structuralLagRecords > 0 ? serviceStructuralEmitter(config, logger, codec, def.name) : undefined;
  const runner = new ProcessorRunner({
    processor,
    engine: createEngine(config, logger),
    codec,
    metrics,
    logger,
    groupId,
    topicPrefix: config.topicPrefix,
    maxRetries: config.maxRetries,
    retryBackoffMs: config.retryBackoffMs,
    stallTimeoutMs: config.stallTimeoutMs,
    validate,
    eventTime,
    maxRecordBytes: config.maxRecordBytes,
    ...(structural ? { lag: consumerLagReporter(structural, config.structuralLagRecords) } : {}),
    ...(tuning.maxBatchRecords ? { maxBatchRecords: tuning.maxBatchRecords } : {}),
    ...(tuning.consumerTuning ? { consumerTuning: tuning.consumerTuning } : {}),
  });
  const ops = await startOpsServer({ host: config.httpHost, port: config.httpPort, registry: metrics.registry, health: runner, service: def.name });
  logger.info({ port: ops.port, kafkaClient: config.kafkaClient, brokers: config.kafkaBrokers }, 'ops server listening (/health, /metrics)');
  await runner.start();
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= (async () => {
    await runner.stop();
    await structural?.close();
    await ops.close();
    logger.flush();
  })());
  return { runner, ops, stop };
}

/** The runtime's event-time bound (MAX_EVENT_TIME_SKEW_MS ahead, MAX_EVENT_TIME_AGE_MS behind). */
export function eventTimeBound(config: RuntimeConfig): EventTimeBound {
  return { aheadMs: config.maxEventTimeSkewMs, behindMs: config.maxEventTimeAgeMs };
}

/** Runs until SIGTERM/SIGINT, then drains and exits 0 (1 if draining fails). */
export async function runUntilSignal<K extends KnobDecls>(def: ServiceDefinition<K>): Promise<void> {
  const svc = await startService(def);
  const onSignal = (signal: string) => {
    process.stderr.write(`${def.name}: ${signal} received, draining\n`);
    svc.stop().then(() => process.exit(0), (err: unknown) => {
      process.stderr.write(`${def.name}: drain failed: ${(err as Error).message}\n`);
      process.exit(1);
    });
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
}
