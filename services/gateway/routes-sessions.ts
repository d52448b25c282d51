// Sessions: open one and stream it (POST /solve-stream), subscribe to one with resume
// (GET /sessions/:id/events), its state (GET /status/:id) and the list (GET /sessions), both
// from the gateway's projection. A token sees only the sessions it opened (admin: all).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { problemsOf } from '../cli/event-sender';
import type { SessionOpening, SessionSummary } from '../cli/session-list';
import { openSession } from '../solver/events';
import { mayRead, type Principal } from './auth';
import { parseCursor, type Cursor } from './cursor';
import { ERROR_SCHEMA, GatewayError } from './errors';
import type { GatewayDeps } from './app';
import { principalOf, errorResponses } from './app';
import { EventStream, CONTENT_TYPES, type StreamMode } from './event-stream';
import { closeReason } from './metrics';
import { normaliseSolve, SOLVE_BODY_SCHEMA, type SolveRequest } from './solve-request';
import type { StreamItem } from './stream-item';

const endsAt = (follow: boolean) => (item: StreamItem) => item.final || (!follow && item.type === 'ConvergenceReached');

const modeOf = (req: FastifyRequest): StreamMode => (/text\/event-stream/.test(req.headers.accept ?? '') ? 'sse' : 'ndjson');

const UUID = { type: 'string', pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' } as const;

const SUMMARY_SCHEMA = {
  type: 'object',
  properties: {
    session_id: { type: 'string' }, state: { type: 'string' }, reason: { type: 'string', nullable: true },
    unknowns: { type: 'integer', nullable: true }, nnz: { type: 'integer', nullable: true }, method: { type: 'string', nullable: true },
    running: { type: 'string', nullable: true }, tolerance: { type: 'number', nullable: true }, opened_at: { type: 'string', nullable: true },
    iteration: { type: 'integer', nullable: true }, residual: { type: 'number', nullable: true },
    updates_sent: { type: 'integer' }, updates_applied: { type: 'integer' }, updates_dead_lettered: { type: 'integer' }, conflicts: { type: 'integer' },
    owner: { type: 'string', nullable: true },
    verification: { type: 'object', nullable: true, additionalProperties: true },
  },
} as const;

/** The session's opening, when this token may see it; 404 alike for unknown and foreign ones (existence is not disclosed). */
export function visibleOpening(deps: Pick<GatewayDeps, 'hub'>, p: Principal, id: string): SessionOpening {
  const s = deps.hub.opening(id.toLowerCase());
  if (!s || !mayRead(p, s.owner)) throw new GatewayError('NOT_FOUND', `no session ${id} visible to the token of ${p.subject}`);
  return s;
}

/** The session's summary, when this token may see it (404 as visibleOpening). */
export function visibleSession(deps: Pick<GatewayDeps, 'hub'>, p: Principal, id: string): SessionSummary {
  return deps.hub.summary(visibleOpening(deps, p, id).session_id)!;
}

function parseFrom(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(ms)) throw new GatewayError('BAD_REQUEST', `from ${JSON.stringify(raw)} is not a time (ISO 8601 or ms since the epoch)`);
  return ms;
}

/** Hands the response to an EventStream subscribed to the session, from `after`/`fromMs`. */
function openStream(deps: GatewayDeps, req: FastifyRequest, reply: FastifyReply, sessionId: string, follow: boolean, after: Cursor | undefined, fromMs: number | undefined, first?: OpenedSession): void {
  deps.streams.admit();
  const mode = modeOf(req);
  const k = deps.config.knobs;
  void reply.hijack();
  reply.raw.writeHead(200, {
    'content-type': `${CONTENT_TYPES[mode]}; charset=utf-8`, 'cache-control': 'no-cache', 'x-accel-buffering': 'no',
    'x-request-id': req.id, 'x-session-id': sessionId,
  });
  reply.raw.flushHeaders();
  let unsubscribe = () => undefined as void;
  let unregister = () => undefined as void;
  const stream = new EventStream(reply.raw, mode, after ?? new Map(), { bufferBytes: k.gatewayStreamBufferBytes, slowMs: k.gatewaySlowClientMs, pingMs: k.gatewayPingMs, maxMs: k.gatewayMaxStreamMs }, {
    endsAfter: endsAt(follow),
    onEnd: (reason) => {
      unsubscribe(); unregister();
      deps.metrics.streamsOpen.dec({ kind: mode });
      deps.metrics.streamsClosed.inc({ reason: closeReason(reason) });
      req.log.info({ session: sessionId, reason }, 'stream ended');
    },
    onLagging: (over) => { if (over) deps.metrics.streamsLagging.inc({ kind: mode }); else deps.metrics.streamsLagging.dec({ kind: mode }); },
  });
  deps.metrics.streamsOpen.inc({ kind: mode });
  unregister = deps.streams.add(stream);
  if (first) stream.control('session_accepted', { ...first });
  try {
    unsubscribe = deps.hub.subscribe(sessionId, stream, { ...(after ? { after } : {}), ...(fromMs !== undefined ? { fromMs } : {}) });
  } catch (err) {
    stream.end((err as Error).message);
  }
  if (stream.closed) unsubscribe();
}

export interface OpenedSession {
  readonly session_id: string;
  readonly owner: string;
  readonly unknowns: number;
  readonly nnz: number;
  readonly chunks: number;
  readonly source_format: string;
  readonly method: string;
  readonly tolerance: number;
  readonly opened_at: { readonly topic: 'solver.sessions'; readonly partition: number; readonly offset: number };
}

/**
 * Normalises a solve request and publishes SessionOpened and its chunks, owned by `p`. `admit`
 * runs once everything is checked and before anything is sent (the stream route's capacity check).
 */
export async function publishSession(deps: Pick<GatewayDeps, 'hub' | 'sender' | 'metrics'>, p: Principal, body: SolveRequest, admit: () => void = () => undefined): Promise<OpenedSession> {
  const n = normaliseSolve(body);
  const sessionId = (body.session_id ?? randomUUID()).toLowerCase();
  if (deps.hub.summary(sessionId)) throw new GatewayError('CONFLICT', `session_id ${sessionId} exists already`);
  const events = openSession(sessionId, n.a, n.b, {
    method: n.method, tolerance: n.tolerance, maxIterations: n.maxIterations, verificationInterval: n.verificationInterval,
    occurredAt: Date.now() * 1000, producer: 'gateway',
  });
  const opened = events[0]!;
  if (opened.type === 'SessionOpened') {
    opened.source_format = n.sourceFormat;
    opened.options.preconditioner = n.preconditioner;
    opened.options.swarm = n.swarm;
    opened.owner = p.subject;
  }
  for (const e of events) {
    const problems = problemsOf(e);
    if (problems.length > 0) throw new GatewayError('BAD_REQUEST', `the solver would refuse ${e.type}: ${problems.slice(0, 3).join('; ')}`);
  }
  admit();
  // Published before any stream opens: a broker that refuses gets a 503, not a broken stream.
  // The session is new, so the hub's history holds all of it when a stream subscribes.
  const at = await deps.sender.send('solver.sessions', events);
  deps.metrics.published.inc({ topic: 'solver.sessions' }, events.length);
  return {
    session_id: sessionId, owner: p.subject, unknowns: n.a.n, nnz: n.a.values.length, chunks: events.length - 1,
    source_format: n.sourceFormat, method: n.method, tolerance: n.tolerance,
    opened_at: { topic: 'solver.sessions', partition: at[0]!.partition, offset: at[0]!.offset },
  };
}

export function registerSessionRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  app.post<{ Body: SolveRequest; Querystring: { follow?: boolean } }>('/api/v1/solve-stream', {
    config: { scope: 'open' },
    schema: {
      summary: 'Open a solve session and stream its events (NDJSON, or SSE for Accept: text/event-stream) until convergence, or with follow=true until the client closes',
      body: SOLVE_BODY_SCHEMA,
      querystring: { type: 'object', properties: { follow: { type: 'boolean', default: false } } },
      response: { 409: ERROR_SCHEMA, 413: ERROR_SCHEMA, 415: ERROR_SCHEMA, ...errorResponses },
    },
  }, async (req, reply) => {
    const p = principalOf(req);
    const opened = await publishSession(deps, p, req.body, () => deps.streams.admit());
    openStream(deps, req, reply, opened.session_id, req.query.follow ?? false, undefined, undefined, opened);
  });

  app.get<{ Params: { id: string }; Querystring: { after?: string; from?: string; follow?: boolean } }>('/api/v1/sessions/:id/events', {
    config: { scope: 'read' },
    schema: {
      summary: "Subscribe to a session's events (NDJSON or SSE). Each event's id is its position in the log; Last-Event-ID or ?after= resumes after it, ?from= starts at a time",
      params: { type: 'object', required: ['id'], properties: { id: UUID } },
      querystring: { type: 'object', properties: { after: { type: 'string' }, from: { type: 'string' }, follow: { type: 'boolean', default: true } } },
      headers: { type: 'object', properties: { 'last-event-id': { type: 'string' } } },
      response: { 410: ERROR_SCHEMA, ...errorResponses },
    },
  }, async (req, reply) => {
    const s = visibleOpening(deps, principalOf(req), req.params.id);
    const rawAfter = (req.headers['last-event-id'] as string | undefined) ?? req.query.after;
    const after = rawAfter === undefined ? undefined : parseCursor(rawAfter, req.headers['last-event-id'] !== undefined ? 'Last-Event-ID' : 'after');
    openStream(deps, req, reply, s.session_id, req.query.follow ?? true, after, parseFrom(req.query.from));
  });

  app.get<{ Params: { id: string } }>('/api/v1/status/:id', {
    config: { scope: 'read' },
    schema: {
      summary: "A session's state from the gateway's projection of the log",
      params: { type: 'object', required: ['id'], properties: { id: UUID } },
      response: { 200: SUMMARY_SCHEMA, ...errorResponses },
    },
  }, async (req) => visibleSession(deps, principalOf(req), req.params.id));

  app.get('/api/v1/sessions', {
    config: { scope: 'read' },
    schema: {
      summary: 'The sessions this token may see, oldest first',
      response: { 200: { type: 'object', properties: { sessions: { type: 'array', items: SUMMARY_SCHEMA } } }, ...errorResponses },
    },
  }, async (req) => {
    const p = principalOf(req);
    return { sessions: deps.hub.summaries().filter((s) => mayRead(p, s.owner)) };
  });

  app.get('/api/v1/mesh', {
    config: { scope: 'read' },
    schema: { summary: 'Mesh impedance per sector and cluster, the operational mode and recent conflicts (the live page)', response: { ...errorResponses } },
  }, async () => deps.hub.mesh.snapshot());
}
