// The gateway against the real broker, registry, Redis and solver process: every endpoint and
// its 4xx answers, streams in NDJSON and SSE, the projection, owners, resume, slow readers.
import assert from 'node:assert/strict';
import { poisson2d } from '../../../wasm/src/problems';
import type { RunningGateway } from '../../../services/gateway';
import { TestKafka } from '../../support/kafka';
import { startSolver, type SolverChild } from '../solver/support';
import { startVerifier } from '../verifier/support';
import WebSocket from 'ws';
import { bearer, json, solveBody, startTestGateway, StreamReader, TOKENS } from './support';

describe('gateway API (seed 000 §1, §2, §6, §9)', function () {
  this.timeout(120_000);
  let k: TestKafka;
  let solver: SolverChild;
  let gw: RunningGateway;
  let base: string;
  let sessionId: string;
  const a = poisson2d(12);

  before(async () => {
    k = await TestKafka.create('gateway-api');
    solver = startSolver(k);
    gw = await startTestGateway(k.prefix, { GATEWAY_BODY_LIMIT_BYTES: '200000' });
    base = `http://127.0.0.1:${gw.port}`;
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') process.stderr.write(`--- solver output ---\n${solver?.output().slice(-3000)}\n`);
  });
  after(async () => {
    await gw?.stop(0);
    solver?.proc.kill('SIGKILL');
    await k?.close();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers });
  const errorOf = async (res: Response) => (await res.json()) as { code: string; message: string };

  it('given the servers are up, then health is ready with broker, registry and Redis checked, and /metrics and the OpenAPI document answer', async () => {
    const h = await get('/api/v1/health');
    const body = await h.json() as { status: string; checks: Array<{ name: string; ok: boolean }> };
    assert.equal(h.status, 200, JSON.stringify(body));
    assert.deepEqual(body.checks.map((c) => [c.name, c.ok]), [['broker', true], ['registry', true], ['redis', true]]);
    const m = await (await get('/metrics')).text();
    assert.match(m, /solvermesh_gateway_records_followed_total/);
    const doc = await (await get('/api/v1/openapi.json')).json() as { openapi: string; paths: Record<string, unknown> };
    assert.match(doc.openapi, /^3\./);
    for (const p of ['/api/v1/solve-stream', '/api/v1/sessions/{id}/events', '/api/v1/swarm/costs', '/api/v1/swarm/join', '/api/v1/verify', '/api/v1/status/{id}', '/api/v1/sessions', '/api/v1/health']) {
      assert.ok(doc.paths[p], `OpenAPI lacks ${p}`);
    }
  });

  it('when a token is missing, unknown or lacks the scope, then 401, 401 and 403 with a JSON {code, message}', async () => {
    const none = await post('/api/v1/solve-stream', solveBody(a));
    assert.equal(none.status, 401);
    assert.deepEqual(Object.keys(await errorOf(none)).sort(), ['code', 'message']);
    const bad = await post('/api/v1/solve-stream', solveBody(a), { authorization: 'Bearer nope' });
    assert.equal(bad.status, 401);
    assert.equal((await errorOf(bad)).code, 'UNAUTHENTICATED');
    const reader = await post('/api/v1/solve-stream', solveBody(a), bearer('reader'));
    assert.equal(reader.status, 403);
    assert.match((await errorOf(reader)).message, /lacks scope "open"/);
  });

  it('when the body is not JSON, too large, or the seed\'s §9.1 request (1000x1000 declared, 3x3 sent), then 415, 413 and 400 naming the field', async () => {
    const text = await post('/api/v1/solve-stream', '<matrix/>', { ...bearer('alice'), 'content-type': 'application/xml' });
    assert.equal(text.status, 415);
    const plain = await post('/api/v1/solve-stream', 'hello', { ...bearer('alice'), 'content-type': 'text/plain' });
    assert.equal(plain.status, 415);
    assert.equal(text.status, 415);
    assert.equal((await errorOf(text)).code, 'UNSUPPORTED_MEDIA_TYPE');
    const big = await post('/api/v1/solve-stream', { ...solveBody(a), pad: 'x'.repeat(250_000) }, bearer('alice'));
    assert.equal(big.status, 413);
    assert.equal((await errorOf(big)).code, 'PAYLOAD_TOO_LARGE');
    // §9.1 verbatim: CSC array names under "csr", and 1000 rows declared for 3.
    const seed = { matrix: { rows: 1000, cols: 1000, data: { values: [2, -1, -1, 2, -1, -1, 2], row_indices: [0, 0, 1, 1, 1, 2, 2], col_pointers: [0, 2, 5, 7] }, format: 'csr' }, vector: [1, 2, 3], method: 'hybrid', options: { tolerance: 1e-8, swarm_enabled: true } };
    const r1 = await post('/api/v1/solve-stream', seed, bearer('alice'));
    assert.equal(r1.status, 400);
    assert.match((await errorOf(r1)).message, /matrix\.data\.row_indices does not belong to format csr/);
    // Its arrays named as CSR: the declared size is what is inconsistent.
    const named = { ...seed, matrix: { ...seed.matrix, data: { values: [2, -1, -1, 2, -1, -1, 2], col_indices: [0, 1, 0, 1, 2, 1, 2], row_pointers: [0, 2, 5, 7] } } };
    const r2 = await post('/api/v1/solve-stream', named, bearer('alice'));
    assert.equal(r2.status, 400);
    assert.match((await errorOf(r2)).message, /^matrix\.data\.row_pointers has 4 entries; matrix\.rows 1000 needs 1001$/);
    const r3 = await post('/api/v1/solve-stream', { ...named, matrix: { ...named.matrix, rows: 3, cols: 3 }, vector: [1, 2] }, bearer('alice'));
    assert.equal(r3.status, 400);
    assert.match((await errorOf(r3)).message, /^vector has 2 entries but matrix\.rows is 3$/);
    const r4 = await post('/api/v1/solve-stream', { matrix: { rows: 3, cols: 3, format: 'csr' }, vector: [1, 2, 3] }, bearer('alice'));
    assert.equal(r4.status, 400);
    assert.match((await errorOf(r4)).message, /body\/matrix must have required property 'data'/);
    const nf = await get('/api/v1/nothing', bearer('alice'));
    assert.equal(nf.status, 404);
    assert.equal((await errorOf(nf)).code, 'NOT_FOUND');
  });

  it('when alice opens a session, then the NDJSON stream shows it accepted, its iterations with log positions as ids, and ends at convergence', async () => {
    const res = await post('/api/v1/solve-stream', solveBody(a), bearer('alice'));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/x-ndjson/);
    const lines = json(await new StreamReader(res).readUntil(() => false));
    assert.equal(lines[0]!.type, 'session_accepted');
    sessionId = String(lines[0]!.session_id);
    assert.equal(lines[0]!.owner, 'alice');
    const events = lines.filter((l) => l.id);
    assert.equal(events[0]!.type, 'SessionOpened');
    const its = events.filter((e) => e.type === 'IterationCompleted');
    assert.ok(its.length >= 2, JSON.stringify(lines.slice(0, 5)));
    assert.ok(its.every((e, i) => i === 0 || (e.iteration as number) > (its[i - 1]!.iteration as number)));
    assert.match(String(its.at(-1)!.id), /^i\d-\d+\.s\d-0$/);
    assert.equal(events.at(-1)!.type, 'ConvergenceReached');
    assert.equal(lines.at(-1)!.type, 'stream_closed');
    assert.equal(lines.at(-1)!.reason, 'ConvergenceReached');
  });

  it('then status and the session list answer from the projection, and bob sees none of it', async () => {
    const st = await get(`/api/v1/status/${sessionId}`, bearer('alice'));
    const s = await st.json() as Record<string, unknown>;
    assert.equal(st.status, 200, JSON.stringify(s));
    assert.equal(s.owner, 'alice');
    assert.equal(s.state, 'converged');
    assert.equal(s.unknowns, a.n);
    assert.equal(s.method, 'CG');
    assert.ok((s.iteration as number) > 0);
    const mine = await (await get('/api/v1/sessions', bearer('alice'))).json() as { sessions: Array<{ session_id: string }> };
    assert.ok(mine.sessions.some((x) => x.session_id === sessionId));
    const theirs = await (await get('/api/v1/sessions', bearer('bob'))).json() as { sessions: Array<{ session_id: string }> };
    assert.ok(!theirs.sessions.some((x) => x.session_id === sessionId));
    assert.equal((await get(`/api/v1/status/${sessionId}`, bearer('bob'))).status, 404);
    assert.equal((await get(`/api/v1/sessions/${sessionId}/events`, bearer('bob'))).status, 404);
    assert.equal((await get(`/api/v1/status/${sessionId}`, bearer('admin'))).status, 200);
    const bad = await get('/api/v1/status/not-a-uuid', bearer('alice'));
    assert.equal(bad.status, 400);
  });

  it('when a session is opened in COO with Accept: text/event-stream, then SSE frames carry id, event and data, ending at convergence', async () => {
    const coo = { rows: [] as number[], cols: [] as number[] };
    for (let i = 0; i < a.n; i++) for (let p = a.rowPtr[i]!; p < a.rowPtr[i + 1]!; p++) { coo.rows.push(i); coo.cols.push(a.colIdx[p]!); }
    const body = { ...solveBody(a), matrix: { rows: a.n, cols: a.n, format: 'coo', data: { values: [...a.values], row_indices: coo.rows, col_indices: coo.cols } } };
    const res = await post('/api/v1/solve-stream', body, { ...bearer('alice'), accept: 'text/event-stream' });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const frames = await new StreamReader(res, '\n\n').readUntil(() => false);
    const parsed = frames.filter((f) => !f.startsWith(':')).map((f) => Object.fromEntries(f.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)])));
    assert.equal(parsed[0]!.event, 'session_accepted');
    const evs = parsed.filter((f) => f.id);
    assert.equal(evs[0]!.event, 'SessionOpened');
    assert.equal(JSON.parse(evs[0]!.data!).source_format, 'COO');
    assert.ok(evs.every((f) => JSON.parse(f.data!).id === f.id));
    assert.equal(evs.at(-1)!.event, 'ConvergenceReached');
  });

  it('when a stream is cut after some events and resumed with Last-Event-ID, then it gets exactly the missing events', async () => {
    const full = json(await new StreamReader(await get(`/api/v1/sessions/${sessionId}/events?follow=false`, bearer('alice'))).readUntil(() => false)).filter((l) => l.id);
    assert.ok(full.length >= 4, `only ${full.length} events`);
    const cut = Math.floor(full.length / 2);
    const first = new StreamReader(await get(`/api/v1/sessions/${sessionId}/events?follow=false`, bearer('alice')));
    const head = json(await first.readUntil((xs) => xs.length >= cut)).slice(0, cut);
    await first.cancel();
    const rest = json(await new StreamReader(await get(`/api/v1/sessions/${sessionId}/events?follow=false`, { ...bearer('alice'), 'last-event-id': String(head.at(-1)!.id) })).readUntil(() => false)).filter((l) => l.id);
    const where = (e: Record<string, unknown>) => `${e.topic}[${e.partition}]@${e.offset}`;
    assert.deepEqual([...head, ...rest].map(where), full.map(where));
    // ?after= is the same resume; a position the gateway never sent is a 400.
    const viaQuery = json(await new StreamReader(await get(`/api/v1/sessions/${sessionId}/events?follow=false&after=${head.at(-1)!.id}`, bearer('alice'))).readUntil(() => false)).filter((l) => l.id);
    assert.deepEqual(viaQuery.map(where), rest.map(where));
    assert.equal((await get(`/api/v1/sessions/${sessionId}/events`, { ...bearer('alice'), 'last-event-id': 'garbage' })).status, 400);
    // ?from= a time after every event: nothing before it.
    const later = json(await new StreamReader(await get(`/api/v1/sessions/${sessionId}/events?follow=false&from=${new Date(Date.now() + 60_000).toISOString()}`, bearer('alice'))).readUntil((xs) => xs.length > 0, 1_500).catch(() => [] as string[]));
    assert.equal(later.filter((l) => l.id).length, 0);
  });

  it('when cost updates arrive as one JSON and as an NDJSON body, then each is acked with its log position in order, a bad line is refused by name, and the session re-converges on them', async () => {
    const follow = new StreamReader(await get(`/api/v1/sessions/${sessionId}/events`, bearer('alice')));
    const one = await post('/api/v1/swarm/costs', { session_id: sessionId, delta_costs: { indices: [1, 5], values: [0.01, -0.003] }, source_node: 'node-abc123' }, bearer('alice'));
    const ack = await one.json() as { acks: Array<{ partition: number; offset: number; event_id: string }> };
    assert.equal(one.status, 200, JSON.stringify(ack));
    assert.equal(ack.acks.length, 1);
    const lines = [
      { session_id: sessionId, delta_costs: { indices: [2], values: [0.5] }, flush: false },
      { session_id: sessionId, delta_costs: { indices: [a.n + 7], values: [0.5] } },
      { session_id: sessionId, matrix_updates: [{ row: 3, col: 3, old_value: 99, new_value: 4.2 }], flush: true },
    ].map((l) => JSON.stringify(l)).join('\n');
    const nd = await fetch(`${base}/api/v1/swarm/costs`, { method: 'POST', headers: { ...bearer('alice'), 'content-type': 'application/x-ndjson' }, body: lines });
    const acks = json(await new StreamReader(nd).readUntil(() => false)) as unknown as Array<{ index: number; offset?: number; error?: { code: string; message: string } }>;
    assert.deepEqual(acks.map((x) => x.index), [0, 1, 2]);
    assert.equal(acks[1]!.error!.code, 'BAD_REQUEST');
    assert.match(acks[1]!.error!.message, /line 2: delta_costs\.indices\[0\] is 151, outside 0\.\.143/);
    assert.ok(acks[0]!.offset! > ack.acks[0]!.offset && acks[2]!.offset! > acks[0]!.offset!);
    // The stale old_value (A[3][3] is not 99) shows up on the session's stream as a conflict,
    // and the session converges again after folding the updates in.
    const got = json(await follow.readUntil((xs) => xs.some((x) => x.includes('"ConflictReported"')) && xs.filter((x) => x.includes('"ConvergenceReached"')).length >= 2));
    await follow.cancel();
    const conflict = got.find((e) => e.type === 'ConflictReported')!;
    assert.equal(conflict.cluster_id, sessionId);
    const unowned = await post('/api/v1/swarm/costs', { session_id: sessionId, delta_costs: { indices: [1], values: [1] } }, bearer('bob'));
    assert.equal(unowned.status, 404);
    const malformed = await post('/api/v1/swarm/costs', { session_id: sessionId, delta_costs: { indices: [1], values: ['x'] } }, bearer('alice'));
    assert.equal(malformed.status, 400);
    assert.match((await errorOf(malformed)).message, /delta_costs\/values\/0 must be number/);
  });

  it('when an agent joins and a verification is asked for, then 201 with its identity and heartbeat position, and 202 saying honestly that no verifier runs, and once one runs, where its results arrive', async () => {
    const j = await post('/api/v1/swarm/join', { agent_class: 'C', sector_id: 'sector-1', cluster_id: 'cluster-1', capabilities: ['solve'] }, bearer('alice'));
    const jb = await j.json() as { agent_id: string; agent_class: string; heartbeat: { offset: number } };
    assert.equal(j.status, 201, JSON.stringify(jb));
    assert.equal(jb.agent_class, 'CLASS_C_PERSISTENT');
    const [hb] = await k.decodeAll(await k.collect('mesh.heartbeats', (rs) => rs.length >= 1));
    assert.equal(hb?.type, 'HeartbeatReceived');
    assert.equal(hb.agent_id, jb.agent_id);
    assert.equal((await post('/api/v1/swarm/join', { agent_class: 'Z', sector_id: 's', cluster_id: 'c' }, bearer('alice'))).status, 400);
    const v = await post('/api/v1/verify', { session_id: sessionId, probe_count: 20 }, bearer('alice'));
    const vb = await v.json() as { verifier: { running: boolean; message: string }; probe_count: number };
    assert.equal(v.status, 202, JSON.stringify(vb));
    assert.equal(vb.verifier.running, false);
    assert.match(vb.verifier.message, /no verifier service is running/);
    assert.equal(vb.probe_count, 20);
    assert.equal((await post('/api/v1/verify', { session_id: sessionId, probe_count: 500 }, bearer('alice'))).status, 400);
    assert.equal((await post('/api/v1/verify', { session_id: sessionId }, bearer('bob'))).status, 404);
    // Once a verifier group runs, the answer says where its results arrive.
    const verifier = startVerifier(k, 'g1');
    try {
      let said: { verifier: { running: boolean; message: string } } | undefined;
      for (const deadline = Date.now() + 60_000; !said?.verifier.running && Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
        said = await (await post('/api/v1/verify', { session_id: sessionId, probe_count: 5 }, bearer('alice'))).json() as typeof said;
      }
      assert.equal(said?.verifier.running, true, JSON.stringify(said));
      assert.match(said.verifier.message, /VerificationCompleted/);
    } finally {
      verifier.proc.kill('SIGKILL');
      await verifier.exited;
    }
  });

  it('when a WebSocket subscribes and pushes a cost update, then it gets the session events and an ack with the position', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/ws/solver`, { headers: { authorization: `Bearer ${TOKENS.alice}` } });
    const msgs: Array<Record<string, unknown>> = [];
    ws.on('message', (d) => msgs.push(JSON.parse(String(d)) as Record<string, unknown>));
    await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
    ws.send(JSON.stringify({ type: 'subscribe', session_id: sessionId }));
    ws.send(JSON.stringify({ type: 'cost_update', session_id: sessionId, update_id: 'ws-1', delta_costs: { indices: [0], values: [0.25] } }));
    ws.send(JSON.stringify({ type: 'cost_update', session_id: sessionId, update_id: 'ws-bad', delta_costs: { indices: [0], values: ['x'] } }));
    ws.send(JSON.stringify({ type: 'dance' }));
    const deadline = Date.now() + 30_000;
    while (!(msgs.some((m) => m.type === 'ack') && msgs.some((m) => m.type === 'SessionOpened') && msgs.filter((m) => m.type === 'error').length >= 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    ws.close();
    assert.equal(msgs[0]!.type, 'subscribed');
    const ack = msgs.find((m) => m.type === 'ack')!;
    assert.equal(ack.ref, 'ws-1');
    assert.equal(typeof ack.offset, 'number');
    assert.match(String(msgs.find((m) => m.type === 'error' && m.ref === 'ws-bad')?.message), /delta_costs\.values\.0 must be number/, 'a WebSocket cost update is checked by the body schema');
    assert.match(String(msgs.find((m) => m.type === 'error' && m.ref === undefined)?.message), /unknown message type "dance"/);
    const noToken = new WebSocket(`ws://127.0.0.1:${gw.port}/ws/solver`);
    const status = await new Promise<number>((r) => noToken.on('unexpected-response', (_q, res) => r(res.statusCode ?? 0)));
    assert.equal(status, 401);
  });

  it('given a second gateway instance, when an IP passes its limit across both, then 429 with Retry-After (counters in Redis are shared)', async () => {
    const env = { GATEWAY_RATE_IP_MAX: '4', GATEWAY_RATE_WINDOW_MS: '60000', GATEWAY_REDIS_PREFIX: `${k.prefix}rl.` };
    const g1 = await startTestGateway(k.prefix, env);
    const g2 = await startTestGateway(k.prefix, env);
    try {
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 6; i++) {
        last = await fetch(`http://127.0.0.1:${(i % 2 ? g2 : g1).port}/api/v1/sessions`, { headers: bearer('alice') });
        statuses.push(last.status);
      }
      assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
      assert.ok(Number(last!.headers.get('retry-after')) >= 1);
      assert.equal((await errorOf(last!)).code, 'RATE_LIMITED');
    } finally {
      await g1.stop(0);
      await g2.stop(0);
    }
  });
});
