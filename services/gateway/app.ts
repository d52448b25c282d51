// The gateway's HTTP face, built apart from listen() so specs can use app.inject(): errors as
// {code, message} (statuses mapped in errors.ts only), bearer auth and scopes, rate limits per
// IP and per token counted in Redis, body and media-type limits, the OpenAPI document.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifyWebsocket from '@fastify/websocket';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { EventSender } from '../cli/event-sender';
import { authenticate, requireScope, type Principal, type Scope } from './auth';
import type { GatewayConfig } from './config';
import { ERROR_SCHEMA, GatewayError, toHttpError } from './errors';
import type { Hub } from './hub';
import type { GatewayMetrics } from './metrics';
import { registerMcpRoute } from '../mcp/http';
import { registerPage } from './page';
import type { StreamRegistry } from './streams';
import { registerSessionRoutes } from './routes-sessions';
import { registerSwarmRoutes } from './routes-swarm';
import { registerWebSocket } from './routes-ws';

export interface HealthCheck {
  readonly name: 'broker' | 'registry' | 'redis';
  readonly ok: boolean;
  readonly detail: string;
}

export interface GatewayDeps {
  readonly config: GatewayConfig;
  readonly hub: Hub;
  readonly sender: Pick<EventSender, 'send' | 'sendKeyed'>;
  readonly redis: Redis;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly streams: StreamRegistry;
  readonly health: () => Promise<HealthCheck[]>;
  /** Whether a verifier service is consuming verification requests now. */
  readonly verifierRunning: () => Promise<boolean>;
}

declare module 'fastify' {
  interface FastifyRequest { principal?: Principal }
  /** The scope a route needs; 'authenticated': any valid token (/mcp filters by scope itself). */
  interface FastifyContextConfig { scope?: Scope | 'authenticated' }
}

export const principalOf = (req: FastifyRequest): Principal => {
  if (!req.principal) throw new GatewayError('UNAUTHENTICATED', 'no bearer token');
  return req.principal;
};

export async function buildApp(deps: GatewayDeps): Promise<FastifyInstance> {
  const { config, logger } = deps;
  const app = Fastify({
    // Fastify's logger type is pino's narrowed; the instance is our pino logger.
    loggerInstance: logger as unknown as FastifyBaseLogger,
    bodyLimit: config.knobs.gatewayBodyLimitBytes,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    keepAliveTimeout: 60_000,
    // stop() closes the app after the streams' drain: the connections left then are closed, not
    // waited on for up to keepAliveTimeout.
    forceCloseConnections: true,
    // Streams end on their own terms (convergence, max duration), not on a socket timeout.
    requestTimeout: 0,
  });
  // The API takes JSON (and NDJSON where a route says so): text/plain is a 415, not a string body.
  app.removeContentTypeParser('text/plain');
  app.addHook('onSend', async (req, reply) => { reply.header('x-request-id', req.id); });
  app.setErrorHandler((err, req, reply) => {
    const e = toHttpError(err);
    if (e.status >= 500) req.log.error({ err }, 'request failed');
    deps.metrics.errors.inc({ code: e.code });
    void reply.code(e.status).headers(e.headers).send({ code: e.code, message: e.message });
  });
  app.setNotFoundHandler((req, reply) => {
    deps.metrics.errors.inc({ code: 'NOT_FOUND' });
    void reply.code(404).send({ code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}; the API is under /api/v1 (see /api/v1/openapi.json)` });
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'solvermesh gateway', version: '1', description: 'Seed 000 HTTP streaming API over the solvermesh Kafka log.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  app.addSchema(HEALTH_SCHEMA);
  await app.register(fastifyRateLimit, { global: false, redis: deps.redis, nameSpace: `${deps.config.redisPrefix}gateway:rate:`, skipOnError: false });
  await app.register(fastifyWebsocket, { options: { maxPayload: config.knobs.gatewayNdjsonLineLimitBytes } });

  const window = config.knobs.gatewayRateWindowMs;
  const perIp = app.createRateLimit({ max: config.knobs.gatewayRateIpMax, timeWindow: window, keyGenerator: (req) => `ip:${req.ip}` });
  const perToken = app.createRateLimit({ max: config.knobs.gatewayRateTokenMax, timeWindow: window, keyGenerator: (req) => `token:${req.principal?.subject ?? '-'}` });
  const limit = async (check: typeof perIp, req: FastifyRequest, what: string) => {
    const r = await check(req);
    if (!r.isAllowed && r.isExceeded) {
      deps.metrics.rateLimited.inc({ by: what });
      throw new GatewayError('RATE_LIMITED', `rate limit of ${r.max} requests per ${window / 1000} s per ${what} exceeded; retry in ${r.ttlInSeconds} s`, { 'retry-after': String(Math.max(1, r.ttlInSeconds)) });
    }
  };

  // Per IP before anything else, so floods without a valid token are limited too; then the
  // token, its scope, and the limit per token.
  app.addHook('onRequest', async (req: FastifyRequest, _reply: FastifyReply) => {
    const scope = req.routeOptions.config?.scope;
    if (!scope) return;
    await limit(perIp, req, 'IP');
    // RFC 6750 §2.3: a browser's EventSource and WebSocket cannot set headers; GETs may carry the token in the query.
    const queryToken = req.method === 'GET' ? (req.query as { access_token?: string } | undefined)?.access_token : undefined;
    req.principal = authenticate(config.tokens, req.headers.authorization ?? (queryToken ? `Bearer ${queryToken}` : undefined));
    if (scope !== 'authenticated') requireScope(req.principal, scope);
    await limit(perToken, req, 'token');
  });

  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get('/api/v1/health', {
    schema: {
      summary: 'Readiness: broker, schema registry and Redis reachable',
      response: {
        200: { $ref: 'health#' }, 503: { $ref: 'health#' },
      },
    },
  }, async (_req, reply) => {
    const checks = await deps.health();
    const ok = checks.every((c) => c.ok) && !deps.streams.draining;
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : deps.streams.draining ? 'draining' : 'unavailable', checks });
  });
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', hide: true } }, async (_req, reply) =>
    reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()));

  registerSessionRoutes(app, deps);
  registerSwarmRoutes(app, deps);
  registerWebSocket(app, deps);
  registerMcpRoute(app, deps);
  registerPage(app);
  return app;
}

export const HEALTH_SCHEMA = {
  $id: 'health',
  type: 'object',
  required: ['status', 'checks'],
  properties: {
    status: { type: 'string' },
    checks: { type: 'array', items: { type: 'object', required: ['name', 'ok', 'detail'], properties: { name: { type: 'string' }, ok: { type: 'boolean' }, detail: { type: 'string' } } } },
  },
} as const;

export const errorResponses = { 400: ERROR_SCHEMA, 401: ERROR_SCHEMA, 403: ERROR_SCHEMA, 404: ERROR_SCHEMA, 429: ERROR_SCHEMA } as const;
