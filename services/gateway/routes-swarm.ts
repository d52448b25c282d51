// Swarm input: cost updates (seed 000 §2.2; one JSON body, or NDJSON streamed in and
// acknowledged line by line with each update's log position, in order), an agent joining the
// mesh (its first heartbeat), and verification requests.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AgentClass, HeartbeatReceived, VerificationRequested } from '../../schemas/generated/events';
import { AGENT_CLASS_SYMBOLS } from '../../schemas/generated/events';
import { problemsOf } from '../cli/event-sender';
import { signingKeyFromSeed } from '../identity/ed25519';
import { registerKeys } from '../identity/key-publisher';
import { MessageSigner } from '../identity/signer';
import { EventCodec } from '../runtime/codec';
import { derivedEventId } from '../runtime/ids';
import { costUpdated } from '../solver/events';
import type { Principal } from './auth';
import { errorResponses, principalOf, type GatewayDeps } from './app';
import { ERROR_SCHEMA, GatewayError, toHttpError } from './errors';
import { visibleOpening } from './routes-sessions';

export interface CostUpdateBody {
  readonly session_id: string;
  readonly update_id?: string;
  readonly timestamp?: string;
  readonly delta_costs?: { readonly indices: number[]; readonly values: number[] };
  readonly matrix_updates?: Array<{ row: number; col: number; old_value: number; new_value: number }>;
  readonly source_node?: string;
  readonly propagation_depth?: number;
  readonly flush?: boolean;
}

const COST_SCHEMA = {
  type: 'object',
  required: ['session_id'],
  properties: {
    type: { type: 'string', const: 'cost_update' },
    session_id: { type: 'string' },
    update_id: { type: 'string', minLength: 1, maxLength: 200 },
    timestamp: { type: 'string' },
    delta_costs: {
      type: 'object', required: ['indices', 'values'],
      properties: { indices: { type: 'array', items: { type: 'integer', minimum: 0 } }, values: { type: 'array', items: { type: 'number' } } },
    },
    matrix_updates: {
      type: 'array',
      items: { type: 'object', required: ['row', 'col', 'old_value', 'new_value'], properties: { row: { type: 'integer', minimum: 0 }, col: { type: 'integer', minimum: 0 }, old_value: { type: 'number' }, new_value: { type: 'number' } } },
    },
    source_node: { type: 'string', minLength: 1, maxLength: 200 },
    propagation_depth: { type: 'integer', minimum: 0 },
    flush: { type: 'boolean' },
  },
} as const;

const ACK_SCHEMA = {
  type: 'object',
  properties: {
    index: { type: 'integer' }, session_id: { type: 'string' }, event_id: { type: 'string' },
    topic: { type: 'string' }, partition: { type: 'integer' }, offset: { type: 'integer' },
  },
} as const;

/** The body schema's check for cost updates that are not a route's body (NDJSON lines, WebSocket messages); errors name the field. */
export function costBodyCheck(req: FastifyRequest): (u: unknown, at: string) => CostUpdateBody {
  const check = req.compileValidationSchema(COST_SCHEMA);
  return (u, at) => {
    if (!check(u)) {
      const e = check.errors?.[0];
      throw new GatewayError('BAD_REQUEST', `${at}${(e?.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.') || 'the update'} ${e?.message ?? 'is invalid'}`);
    }
    return u as CostUpdateBody;
  };
}

/** A checked CostUpdated for one body; errors name the field (`at` prefixes it for NDJSON lines). */
export function costEvent(deps: Pick<GatewayDeps, 'hub'>, p: Principal, u: CostUpdateBody, at = '') {
  if (typeof u !== 'object' || u === null || Array.isArray(u)) throw new GatewayError('BAD_REQUEST', `${at}a cost update must be a JSON object`);
  if (typeof u.session_id !== 'string') throw new GatewayError('BAD_REQUEST', `${at}session_id is required`);
  const s = visibleOpening(deps, p, u.session_id);
  const idx = u.delta_costs?.indices ?? [];
  const vals = u.delta_costs?.values ?? [];
  if (idx.length !== vals.length) throw new GatewayError('BAD_REQUEST', `${at}delta_costs.indices has ${idx.length} entries but delta_costs.values has ${vals.length}`);
  const n = s.unknowns ?? 0;
  idx.forEach((i, k) => { if (!Number.isInteger(i) || i < 0 || i >= n) throw new GatewayError('BAD_REQUEST', `${at}delta_costs.indices[${k}] is ${i}, outside 0..${n - 1} (the session has ${n} unknowns)`); });
  (u.matrix_updates ?? []).forEach((m, k) => {
    if (m.row >= n) throw new GatewayError('BAD_REQUEST', `${at}matrix_updates[${k}].row is ${m.row}, outside 0..${n - 1}`);
    if (m.col >= n) throw new GatewayError('BAD_REQUEST', `${at}matrix_updates[${k}].col is ${m.col}, outside 0..${n - 1}`);
  });
  if (idx.length === 0 && (u.matrix_updates ?? []).length === 0 && u.flush !== true) throw new GatewayError('BAD_REQUEST', `${at}the update changes nothing: give delta_costs and/or matrix_updates (or flush: true alone)`);
  const occurredAt = u.timestamp === undefined ? Date.now() * 1000 : Date.parse(u.timestamp) * 1000;
  if (!Number.isFinite(occurredAt)) throw new GatewayError('BAD_REQUEST', `${at}timestamp ${JSON.stringify(u.timestamp)} is not an ISO 8601 time`);
  const e = costUpdated(s.session_id, u.update_id ?? randomUUID(), {
    indices: idx, values: vals, matrix: u.matrix_updates ?? [], flush: u.flush ?? true, occurredAt, source: u.source_node ?? p.subject,
  });
  e.propagation_depth = u.propagation_depth ?? 0;
  const problems = problemsOf(e);
  if (problems.length > 0) throw new GatewayError('BAD_REQUEST', `${at}the solver would refuse this update: ${problems.slice(0, 3).join('; ')}`);
  return e;
}

/** Sends checked cost updates; each acknowledged with its log position, in order. */
export async function publishCosts(deps: Pick<GatewayDeps, 'sender' | 'metrics'>, events: ReturnType<typeof costEvent>[], firstIndex: number) {
  const at = await deps.sender.send('solver.costs', events);
  deps.metrics.published.inc({ topic: 'solver.costs' }, events.length);
  return events.map((e, k) => ({ index: firstIndex + k, session_id: e.session_id, event_id: e.meta.event_id, topic: 'solver.costs', partition: at[k]!.partition, offset: at[k]!.offset }));
}

/** Chunks of an NDJSON body whose records are sent but not yet acknowledged, at most. */
const NDJSON_CHUNKS_IN_FLIGHT = 8;

/**
 * NDJSON in, NDJSON acks out: each chunk's lines are checked and sent together, and acked in
 * order. The next chunks are read and sent while earlier ones wait for their acks (up to
 * NDJSON_CHUNKS_IN_FLIGHT), so the body never waits a broker round trip per chunk; one producer
 * sends them in order, so the log keeps the body's order.
 */
async function streamCosts(deps: GatewayDeps, p: Principal, body: Readable, write: (line: string) => Promise<void>, check: (u: unknown, at: string) => CostUpdateBody): Promise<void> {
  const limit = deps.config.knobs.gatewayNdjsonLineLimitBytes;
  let rest = '';
  let index = 0;
  let acked: Promise<void> = Promise.resolve();
  let failed = false;
  const inFlight: Array<Promise<void>> = [];
  const sendLines = (lines: string[]): Promise<void> => {
    const out: Array<{ k: number; event?: ReturnType<typeof costEvent>; error?: GatewayError }> = [];
    for (const line of lines) {
      if (line.trim() === '') continue;
      const k = index++;
      try {
        let parsed: unknown;
        try { parsed = JSON.parse(line); } catch (err) { throw new GatewayError('BAD_REQUEST', `line ${k + 1}: not JSON: ${(err as Error).message}`); }
        out.push({ k, event: costEvent(deps, p, check(parsed, `line ${k + 1}: `), `line ${k + 1}: `) });
      } catch (err) {
        out.push({ k, error: toHttpError(err) });
      }
    }
    const good = out.filter((o) => o.event);
    const sent = good.length ? publishCosts(deps, good.map((o) => o.event!), 0) : Promise.resolve([]);
    // Its acks are written after every earlier chunk's; a failure surfaces there, in order, and
    // no later chunk is sent once it is known.
    sent.catch(() => { failed = true; });
    const first = out[0]?.k ?? index;
    acked = acked.then(async () => {
      let acks;
      try { acks = await sent; } catch (err) {
        const e = toHttpError(err);
        throw new GatewayError(e.code, `${e.message}; lines from ${first + 1} on are not acknowledged: they may be partly delivered`, e.headers);
      }
      let a = 0;
      let text = '';
      for (const o of out) {
        text += o.event ? `${JSON.stringify({ ...acks[a++]!, index: o.k })}\n` : `${JSON.stringify({ index: o.k, error: { code: o.error!.code, message: o.error!.message } })}\n`;
      }
      if (text) await write(text);
    });
    return acked;
  };
  const send = async (lines: string[]) => {
    if (failed) await acked;
    const done = sendLines(lines);
    // Awaited here or through `acked`, never left unhandled.
    done.catch(() => undefined);
    inFlight.push(done);
    if (inFlight.length >= NDJSON_CHUNKS_IN_FLIGHT) await inFlight.shift();
  };
  try {
    body.setEncoding('utf8');
    for await (const chunk of body as AsyncIterable<string>) {
      rest += chunk;
      const cut = rest.lastIndexOf('\n');
      if (cut < 0) {
        if (rest.length > limit) throw new GatewayError('PAYLOAD_TOO_LARGE', `line ${index + 1} is longer than ${limit} bytes (GATEWAY_NDJSON_LINE_LIMIT_BYTES)`);
        continue;
      }
      const lines = rest.slice(0, cut).split('\n');
      rest = rest.slice(cut + 1);
      if (lines.some((l) => l.length > limit)) throw new GatewayError('PAYLOAD_TOO_LARGE', `a line is longer than ${limit} bytes (GATEWAY_NDJSON_LINE_LIMIT_BYTES)`);
      await send(lines);
    }
    await send([rest]);
  } finally {
    // Whatever was sent is acknowledged (or its failure reported) before the caller's last line.
    await acked.catch(() => undefined);
  }
  await acked;
}

export interface VerifyBody { readonly session_id: string; readonly probe_count?: number; readonly probe_size?: number; readonly seed?: number }

/** Publishes a VerificationRequested for a session this token may see, and says whether a verifier will answer it. */
export async function requestVerification(deps: Pick<GatewayDeps, 'hub' | 'sender' | 'metrics' | 'verifierRunning'>, p: Principal, body: VerifyBody) {
  const s = visibleOpening(deps, p, body.session_id);
  const n = s.unknowns ?? 1;
  const now = Date.now() * 1000;
  const requestId = randomUUID();
  const e: VerificationRequested = {
    type: 'VerificationRequested',
    meta: { event_id: derivedEventId(s.session_id, `verify:${requestId}`), correlation_id: s.session_id, causation_id: null, occurred_at: now, producer: 'gateway', sequence: null },
    session_id: s.session_id, requested_by: p.subject, probe_count: body.probe_count ?? 10,
    probe_size: Math.min(body.probe_size ?? Math.min(100, n), n), seed: body.seed ?? (now % 2_147_483_647),
  };
  const problems = problemsOf(e);
  if (problems.length > 0) throw new GatewayError('BAD_REQUEST', `the solver would refuse this request: ${problems.slice(0, 3).join('; ')}`);
  const [at] = await deps.sender.send('solver.commands', [e]);
  deps.metrics.published.inc({ topic: 'solver.commands' });
  const running = await deps.verifierRunning();
  return {
    session_id: s.session_id, event_id: e.meta.event_id, request: { topic: 'solver.commands' as const, partition: at!.partition, offset: at!.offset },
    probe_count: e.probe_count, probe_size: e.probe_size,
    verifier: running
      ? { running: true, message: `results arrive as VerificationCompleted on GET /api/v1/sessions/${s.session_id}/events` }
      : { running: false, message: 'no verifier service is running: the solver publishes the solution for this request (SolutionPublished on solver.solutions), but nothing will check it and no VerificationCompleted will follow until a verifier runs' },
  };
}

const CLASS_BY_LETTER = new Map(AGENT_CLASS_SYMBOLS.map((c) => [c.split('_')[1]!, c]));

export function registerSwarmRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  // The NDJSON body stays a stream: updates are sent as they arrive, not after the whole body.
  app.addContentTypeParser('application/x-ndjson', (_req, payload, done) => done(null, payload));

  app.post<{ Body: CostUpdateBody | Readable }>('/api/v1/swarm/costs', {
    config: { scope: 'costs' },
    schema: {
      summary: 'Cost updates: one JSON object (application/json), or many as an NDJSON body (application/x-ndjson) streamed in; each acknowledged with its log position, in order',
      body: { content: { 'application/json': { schema: COST_SCHEMA }, 'application/x-ndjson': { schema: { description: 'one cost update object per line' } } } },
      response: { 200: { type: 'object', properties: { acks: { type: 'array', items: ACK_SCHEMA } } }, 413: ERROR_SCHEMA, 415: ERROR_SCHEMA, ...errorResponses },
    },
  }, async (req, reply) => {
    const p = principalOf(req);
    if (req.headers['content-type']?.startsWith('application/x-ndjson')) {
      const lineCheck = costBodyCheck(req);
      void reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'x-request-id': req.id });
      // A client gone away drains nothing: its close ends the wait too.
      const write = (text: string) => new Promise<void>((resolve) => { if (res.write(text)) resolve(); else { res.once('drain', resolve); res.once('close', resolve); } });
      try {
        await streamCosts(deps, p, req.body as Readable, write, lineCheck);
      } catch (err) {
        const e = toHttpError(err);
        res.write(`${JSON.stringify({ error: { code: e.code, message: e.message } })}\n`);
      }
      res.end();
      return;
    }
    return { acks: await publishCosts(deps, [costEvent(deps, p, req.body as CostUpdateBody)], 0) };
  });

  app.post<{ Body: { agent_id?: string; agent_class: string; sector_id: string; cluster_id: string; capabilities?: string[]; latency_ms?: number; processing_ms?: number; queue_depth?: number; context_hash?: string } }>('/api/v1/swarm/join', {
    config: { scope: 'costs' },
    schema: {
      summary: 'An agent joins the mesh: its first heartbeat on mesh.heartbeats, and its identity back',
      body: {
        type: 'object', required: ['agent_class', 'sector_id', 'cluster_id'],
        properties: {
          agent_id: { type: 'string', minLength: 1, maxLength: 200 },
          agent_class: { type: 'string', enum: [...AGENT_CLASS_SYMBOLS, ...CLASS_BY_LETTER.keys()] },
          sector_id: { type: 'string', minLength: 1, maxLength: 200 }, cluster_id: { type: 'string', minLength: 1, maxLength: 200 },
          capabilities: { type: 'array', items: { type: 'string' }, maxItems: 64 },
          latency_ms: { type: 'number', minimum: 0 }, processing_ms: { type: 'number', minimum: 0 }, queue_depth: { type: 'integer', minimum: 0 },
          context_hash: { type: 'string', maxLength: 200 },
        },
      },
      response: { 201: { type: 'object', additionalProperties: true }, ...errorResponses },
    },
  }, async (req, reply) => {
    const b = req.body;
    const agentId = b.agent_id ?? `agent-${randomUUID()}`;
    const now = Date.now() * 1000;
    const hb: HeartbeatReceived = {
      type: 'HeartbeatReceived',
      meta: { event_id: derivedEventId(agentId, `join:${now}`), correlation_id: agentId, causation_id: null, occurred_at: now, producer: 'gateway', sequence: null },
      agent_id: agentId, agent_class: (CLASS_BY_LETTER.get(b.agent_class) ?? b.agent_class) as AgentClass, sector_id: b.sector_id, cluster_id: b.cluster_id,
      latency_ms: b.latency_ms ?? 0, processing_ms: b.processing_ms ?? 0, queue_depth: b.queue_depth ?? 0, capabilities: b.capabilities ?? [], utilisation: null,
      context_hash: b.context_hash ?? '', received_at: now, sender_seq: null, signature: null,
    };
    const problems = problemsOf(hb);
    if (problems.length > 0) throw new GatewayError('BAD_REQUEST', `the mesh would refuse this heartbeat: ${problems.slice(0, 3).join('; ')}`);
    // The agent's identity (seed 002 §9.1): a new key registered on mesh.agent-keys, the join
    // heartbeat signed with it, and its seed handed to the agent once, here; the mesh keeps only
    // the public key.
    const identity = deps.config.runtime.meshSigning === 'required' ? await joinIdentity(deps, agentId, now) : undefined;
    const [at] = await deps.sender.sendKeyed('mesh.heartbeats', [{ key: agentId, event: identity ? identity.signer.sign(hb, identity.key) : hb }]);
    deps.metrics.published.inc({ topic: 'mesh.heartbeats' });
    return reply.code(201).send({ agent_id: agentId, agent_class: hb.agent_class, sector_id: hb.sector_id, cluster_id: hb.cluster_id, capabilities: hb.capabilities, joined_by: principalOf(req).subject, heartbeat: { topic: 'mesh.heartbeats', partition: at!.partition, offset: at!.offset },
      ...(identity ? { signing: { key_id: identity.key.keyId, public_key: identity.key.publicKey.toString('base64'), private_key_seed: identity.seed.toString('base64') } } : {}) });
  });

  app.post<{ Body: VerifyBody }>('/api/v1/verify', {
    config: { scope: 'open' },
    schema: {
      summary: 'Ask for a verification of a session (VerificationRequested); the results arrive on the session stream once a verifier runs',
      body: {
        type: 'object', required: ['session_id'],
        properties: { session_id: { type: 'string' }, probe_count: { type: 'integer', minimum: 1, maximum: 100 }, probe_size: { type: 'integer', minimum: 1 }, seed: { type: 'integer', minimum: 0 } },
      },
      response: { 202: { type: 'object', additionalProperties: true }, ...errorResponses },
    },
  }, async (req, reply) => {
    return reply.code(202).send(await requestVerification(deps, principalOf(req), req.body));
  });
}

let keyCodec: EventCodec | undefined;

/** A fresh key for a joining agent, registered before its first heartbeat is sent. */
async function joinIdentity(deps: GatewayDeps, agentId: string, atUs: number) {
  const rt = deps.config.runtime;
  keyCodec ??= new EventCodec(rt.schemaRegistryUrl);
  const codec = keyCodec;
  const seed = randomBytes(32);
  const key = signingKeyFromSeed(seed);
  await registerKeys({ brokers: rt.kafkaBrokers, codec, topicPrefix: rt.topicPrefix, logger: deps.logger, producer: 'gateway' }, [{ agentId, key }], atUs);
  return { key, seed, signer: new MessageSigner((type) => codec.eventSchema(type).type) };
}
