// The gateway service: one consumer folding the log into the projection and the stream hub, a
// producer through the runtime's engine and codec (EventSender), Redis for the shared rate-limit
// counters, the Fastify app, and on SIGTERM a bounded drain of the open streams.
import { Kafka, logLevel } from 'kafkajs';
import { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { topicSpec } from '../../topics/catalog';
import { EventSender } from '../cli/event-sender';
import { EventCodec } from '../runtime/codec';
import { errorMessage } from '../runtime/errors';
import { createLogger } from '../runtime/logger';
import type { StandaloneService } from '../runtime/service';
import { buildApp, type HealthCheck } from './app';
import { loadGatewayConfig } from './config';
import { FOLDED_TOPICS, Hub } from './hub';
import { followLog } from './log-follower';
import { createGatewayMetrics } from './metrics';
import { StreamRegistry } from './streams';

export interface RunningGateway {
  readonly app: FastifyInstance;
  readonly port: number;
  readonly hub: Hub;
  readonly streams: StreamRegistry;
  /** Drains the streams (up to GATEWAY_DRAIN_MS unless given), then closes everything. */
  stop(drainMs?: number): Promise<void>;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => { setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref(); })]);
}

export async function startGateway(env?: NodeJS.ProcessEnv): Promise<RunningGateway> {
  const config = loadGatewayConfig(env);
  const runtime = config.runtime;
  const logger = createLogger(runtime.logLevel, 'gateway');
  const metrics = createGatewayMetrics();
  const codec = new EventCodec(runtime.schemaRegistryUrl);
  const hub = new Hub(config.knobs.gatewayHistoryEvents);
  const follower = await followLog({
    brokers: runtime.kafkaBrokers, codec, prefix: runtime.topicPrefix, logger,
    topics: FOLDED_TOPICS.map((t) => ({ name: t, partitions: topicSpec(t).partitions })),
    onRecord: (r) => { metrics.recordsFollowed.inc(); hub.onRecord(r); },
  });
  let caughtUp = false;
  void follower.caughtUp.then(() => { caughtUp = true; });
  // HTTP callers wait on each record's ack, and a stream's latency starts at the send: no linger,
  // and delivery reports read every 2 ms (the engine's default 50 ms is for throughput).
  const sender = await EventSender.connect(runtime, { lingerMs: 0, deliveryPollMs: 2 });
  const redis = new Redis(runtime.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 5_000 });
  redis.on('error', (err) => logger.warn({ err: errorMessage(err) }, 'redis'));
  const kafka = new Kafka({ clientId: 'solvermesh-gateway', brokers: runtime.kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  let adminReady: Promise<void> | undefined;
  const streams = new StreamRegistry(config.knobs.gatewayMaxStreams);

  const health = async (): Promise<HealthCheck[]> => {
    const check = async (name: HealthCheck['name'], fn: () => Promise<string>): Promise<HealthCheck> => {
      try { return { name, ok: true, detail: await withTimeout(fn(), 2_000, name) }; } catch (err) { return { name, ok: false, detail: errorMessage(err) }; }
    };
    return Promise.all([
      check('broker', async () => {
        if (!follower.connected()) throw new Error('the gateway consumer is not connected');
        if (!caughtUp) throw new Error('still reading the log to its end (projection incomplete)');
        return `consumer connected, ${hub.recordsSeen} records folded`;
      }),
      check('registry', async () => {
        const res = await fetch(`${runtime.schemaRegistryUrl}/subjects`, { signal: AbortSignal.timeout(2_000) });
        if (!res.ok) throw new Error(`GET /subjects: HTTP ${res.status}`);
        return 'subjects listed';
      }),
      check('redis', async () => `PING ${await redis.ping()}`),
    ]);
  };
  const verifierRunning = async () => {
    try {
      adminReady ??= admin.connect();
      await adminReady;
      // One consumer group per verifier group (services/verifier: <prefix>solvermesh.verifier.<group>).
      const mine = `${runtime.topicPrefix}solvermesh.verifier.`;
      const listed = await withTimeout(admin.listGroups(), 3_000, 'list consumer groups');
      const ids = listed.groups.map((g) => g.groupId).filter((id) => id.startsWith(mine));
      if (ids.length === 0) return false;
      const { groups } = await withTimeout(admin.describeGroups(ids), 3_000, 'describe verifier groups');
      return groups.some((g) => g.members.length > 0);
    } catch {
      adminReady = undefined;
      return false;
    }
  };

  const app = await buildApp({
    config, hub, sender, redis, logger, metrics, streams, health, verifierRunning,
  });
  // Status and lists answer from the whole log: listen once the projection has read it.
  await follower.caughtUp;
  await app.listen({ port: config.knobs.gatewayPort, host: config.knobs.gatewayHost });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.knobs.gatewayPort;
  logger.info({ port, host: config.knobs.gatewayHost, records: hub.recordsSeen }, `gateway listening on http://${config.knobs.gatewayHost}:${port} (live page /, API /api/v1, OpenAPI /api/v1/openapi.json)`);

  let stopping: Promise<void> | undefined;
  const stop = (drainMs = config.knobs.gatewayDrainMs) => (stopping ??= (async () => {
    await streams.drain(drainMs);
    await app.close();
    await follower.close();
    await sender.close().catch(() => undefined);
    if (adminReady) await admin.disconnect().catch(() => undefined);
    redis.disconnect();
    logger.flush();
  })());
  return { app, port, hub, streams, stop };
}

export const gatewayService: StandaloneService = {
  name: 'gateway',
  run: async () => {
    const g = await startGateway();
    const onSignal = (signal: string) => {
      process.stderr.write(`gateway: ${signal} received, draining ${g.streams.size} streams\n`);
      g.stop().then(() => process.exit(0), (err: unknown) => {
        process.stderr.write(`gateway: drain failed: ${errorMessage(err)}\n`);
        process.exit(1);
      });
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  },
};
