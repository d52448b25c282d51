// Boots one processor as a service: config, logger, engine, codec, runner, /health and
// /metrics, and a SIGTERM/SIGINT handler that drains (the in-flight batch commits) and exits.
import { loadConfig, type RuntimeConfig } from './config';
import { EventCodec } from './codec';
import { createEngine } from './engine';
import { startOpsServer, type OpsServer } from './http';
import { createLogger, type Logger } from './logger';
import { createMetrics } from './metrics';
import type { ConsumerTuning } from './kafka/types';
import type { Processor, ProcessorContext } from './processor';
import { ProcessorRunner, type EventValidator } from './runner';
import { schemaValidator } from './validation';

export interface ServiceDefinition {
  readonly name: string;
  readonly processor: (config: RuntimeConfig, logger: Logger, ctx: ProcessorContext) => Processor | Promise<Processor>;
  /** Defaults to the schema annotations and per-event rules (schemas/validate.ts). */
  readonly validate?: EventValidator;
  readonly maxBatchRecords?: number;
  readonly consumerTuning?: ConsumerTuning;
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

export async function startService(def: ServiceDefinition, env: NodeJS.ProcessEnv = process.env): Promise<RunningService> {
  const config = loadConfig(env);
  const logger = createLogger(config.logLevel, def.name);
  const metrics = createMetrics(def.name);
  const processor = await def.processor(config, logger, { registry: metrics.registry });
  const runner = new ProcessorRunner({
    processor,
    engine: createEngine(config, logger),
    codec: new EventCodec(config.schemaRegistryUrl),
    metrics,
    logger,
    groupId: `${config.topicPrefix}solvermesh.${def.name}`,
    topicPrefix: config.topicPrefix,
    maxRetries: config.maxRetries,
    retryBackoffMs: config.retryBackoffMs,
    stallTimeoutMs: config.stallTimeoutMs,
    validate: def.validate ?? schemaValidator(),
    ...(def.maxBatchRecords ? { maxBatchRecords: def.maxBatchRecords } : {}),
    ...(def.consumerTuning ? { consumerTuning: def.consumerTuning } : {}),
  });
  const ops = await startOpsServer({ host: config.httpHost, port: config.httpPort, registry: metrics.registry, health: runner, service: def.name });
  logger.info({ port: ops.port, kafkaClient: config.kafkaClient, brokers: config.kafkaBrokers }, 'ops server listening (/health, /metrics)');
  await runner.start();
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= (async () => {
    await runner.stop();
    await ops.close();
    logger.flush();
  })());
  return { runner, ops, stop };
}

/** Runs until SIGTERM/SIGINT, then drains and exits 0 (1 if draining fails). */
export async function runUntilSignal(def: ServiceDefinition): Promise<void> {
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
