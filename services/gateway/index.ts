// The gateway service: its core (core.ts: the log folded into the projection and stream hub, a
// producer, Redis), the Fastify app, and on SIGTERM a bounded drain of the open streams.
import type { FastifyInstance } from 'fastify';
import { errorMessage } from '../runtime/errors';
import { createLogger } from '../runtime/logger';
import type { StandaloneService } from '../runtime/service';
import { buildApp, type HealthCheck } from './app';
import { loadGatewayConfig } from './config';
import { startCore, withTimeout } from './core';
import type { Hub } from './hub';
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

export async function startGateway(env?: NodeJS.ProcessEnv): Promise<RunningGateway> {
  const config = loadGatewayConfig(env);
  const runtime = config.runtime;
  const logger = createLogger(runtime.logLevel, 'gateway');
  const metrics = createGatewayMetrics();
  const core = await startCore(runtime, logger, metrics, config.knobs.gatewayHistoryEvents);
  const { hub, follower, sender, redis, verifierRunning } = core;
  let caughtUp = false;
  void follower.caughtUp.then(() => { caughtUp = true; });
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
    // Streams are drained: a server close that still waits (a kept-alive socket) must not hold the exit.
    await withTimeout(app.close(), 5_000, 'HTTP server close').catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'shutdown: going on without it'));
    await core.close();
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
