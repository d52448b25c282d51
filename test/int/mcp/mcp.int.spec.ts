// The MCP tools through the SDK's own client over both transports (stdio: `bin/solvermesh mcp`
// spawned; Streamable HTTP: the gateway's /mcp), against the real broker, registry and Redis with
// the solver, two verifier groups, consensus and the impedance service running: open, push costs,
// wait, verify, estimate, the mesh, and every error as a tool error with a clear message.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { poisson2d } from '../../../wasm/src/problems';
import { loadEventSchemas } from '../../../schemas/catalog';
import type { RunningGateway } from '../../../services/gateway';
import { writeMatrixMarketCsr } from '../../../services/solver/matrix-market';
import { TestKafka, waitFor } from '../../support/kafka';
import { startRun, startSolver, type SolverChild } from '../solver/support';
import { startConsensus, startVerifier } from '../verifier/support';
import { bearer, gatewayEnv, startTestGateway, TOKENS } from '../gateway/support';

const BIN = join(__dirname, '..', '..', '..', 'bin', 'solvermesh');
const READ_TOOLS = ['conflicts_query', 'mesh_best_agents', 'mesh_status', 'solver_status', 'solver_wait_converged'];
const ALL_TOOLS = [...READ_TOOLS, 'mesh_coordinate', 'solver_estimate_entry', 'solver_open_session', 'solver_push_costs', 'solver_verify'].sort();

type Structured = Record<string, unknown>;
const textOf = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

async function call(c: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await c.callTool({ name, arguments: args })) as CallToolResult;
}

/** The structured result of a call that must succeed (the message of a tool error otherwise). */
async function ok(c: Client, name: string, args: Record<string, unknown>): Promise<Structured> {
  const r = await call(c, name, args);
  assert.ok(!r.isError, `${name} failed: ${textOf(r)}`);
  return r.structuredContent as Structured;
}

async function toolError(c: Client, name: string, args: Record<string, unknown>): Promise<string> {
  const r = await call(c, name, args);
  assert.equal(r.isError, true, `${name} should fail, got ${JSON.stringify(r.structuredContent)}`);
  return textOf(r);
}

describe('MCP tools over stdio and Streamable HTTP (issue 22, seed 000 §6.1)', function () {
  this.timeout(300_000);
  let k: TestKafka;
  const children: SolverChild[] = [];
  let gw: RunningGateway;
  let base: string;
  let env: NodeJS.ProcessEnv;
  const clients: Client[] = [];
  const a = poisson2d(8);

  before(async () => {
    k = await TestKafka.create('mcp');
    const groups = { VERIFIER_GROUPS: '2', CONSENSUS_WINDOW_MS: '4000' };
    children.push(startSolver(k), startVerifier(k, 'g1', groups), startVerifier(k, 'g2', groups), startConsensus(k, groups), startRun(k, ['impedance']));
    gw = await startTestGateway(k.prefix);
    base = `http://127.0.0.1:${gw.port}`;
    env = { ...(await gatewayEnv(k.prefix)), MCP_GATEWAY_URL: base, LOG_LEVEL: 'warn' };
  });
  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    process.stderr.write(`--- failed: ${this.currentTest.err?.message}\n`);
    for (const c of children) process.stderr.write(`--- ${c.proc.spawnargs.slice(2).join(' ')}\n${c.output().slice(-2000)}\n`);
  });
  after(async () => {
    // A stdio server that does not exit is killed by the SDK's close after its grace period.
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    // Awaited whole: an rdkafka client left connected keeps the process from exiting.
    await gw?.stop(0);
    for (const c of children) c.proc.kill('SIGKILL');
    await k?.close();
  });

  const stdio = async (args: string[]) => {
    const c = new Client({ name: 'spec-stdio', version: '1' });
    await c.connect(new StdioClientTransport({ command: BIN, args: ['mcp', ...args], env: env as Record<string, string>, stderr: 'pipe' }));
    clients.push(c);
    return c;
  };
  const http = async (who: keyof typeof TOKENS) => {
    const c = new Client({ name: 'spec-http', version: '1' });
    await c.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: bearer(who) } }));
    clients.push(c);
    return c;
  };

  const transports: Array<{ name: string; full: () => Promise<Client>; reader: () => Promise<Client>; streamBase: () => string }> = [
    { name: 'stdio', full: () => stdio(['--token', TOKENS.alice]), reader: () => stdio(['--scopes', 'read', '--subject', 'stdio-reader']), streamBase: () => base },
    { name: 'Streamable HTTP', full: () => http('alice'), reader: () => http('reader'), streamBase: () => base },
  ];

  for (const t of transports) {
    describe(`over ${t.name}`, () => {
      let c: Client;
      let reader: Client;
      let sid: string;
      before(async () => {
        [c, reader] = await Promise.all([t.full(), t.reader()]);
      });

      it('given a token with read, costs and open, then tools/list has all ten, each with a strict input schema, an output schema and hints; a read-only token sees the five read tools', async () => {
        const { tools } = await c.listTools();
        assert.deepEqual(tools.map((x) => x.name).sort(), ALL_TOOLS);
        for (const x of tools) {
          assert.equal(x.inputSchema.additionalProperties, false, `${x.name} accepts unknown parameters`);
          assert.equal(x.outputSchema?.type, 'object', `${x.name} has no output schema`);
          assert.equal(typeof x.annotations?.readOnlyHint, 'boolean', `${x.name} lacks readOnlyHint`);
        }
        assert.equal(tools.find((x) => x.name === 'solver_status')!.annotations!.readOnlyHint, true);
        assert.equal(tools.find((x) => x.name === 'solver_push_costs')!.annotations!.destructiveHint, true);
        assert.deepEqual((await reader.listTools()).tools.map((x) => x.name).sort(), READ_TOOLS);
      });

      it('when a session is opened (COO JSON), then the call returns at once with its id and a link to the gateway stream, and solver_wait_converged returns the residual history down to the tolerance', async () => {
        const coo = { rows: [] as number[], cols: [] as number[] };
        for (let i = 0; i < a.n; i++) for (let p = a.rowPtr[i]!; p < a.rowPtr[i + 1]!; p++) { coo.rows.push(i); coo.cols.push(a.colIdx[p]!); }
        const r = await call(c, 'solver_open_session', {
          matrix: { rows: a.n, cols: a.n, format: 'coo', data: { values: [...a.values], row_indices: coo.rows, col_indices: coo.cols } },
          method: 'cg', tolerance: 1e-8, verification_interval: 5,
        });
        assert.ok(!r.isError, textOf(r));
        const opened = r.structuredContent as { session_id: string; owner: string; unknowns: number; stream_url: string };
        sid = opened.session_id;
        assert.equal(opened.owner, 'alice');
        assert.equal(opened.unknowns, a.n);
        assert.equal(opened.stream_url, `${t.streamBase()}/api/v1/sessions/${sid}/events`);
        const link = r.content.find((x) => x.type === 'resource_link');
        assert.equal(link?.type === 'resource_link' ? link.uri : undefined, opened.stream_url);
        // The link serves the session's stream to the same token (over stdio, once the gateway's own projection has read the session).
        await waitFor(async () => {
          const stream = await fetch(`${opened.stream_url}?follow=false`, { headers: bearer('alice') });
          await stream.body?.cancel();
          assert.ok(stream.status === 200 || stream.status === 404, `stream link: HTTP ${stream.status}`);
          return stream.status === 200;
        }, 30_000, 'the stream link to answer 200');

        const w = await ok(c, 'solver_wait_converged', { session_id: sid, timeout_ms: 50_000 }) as { converged: boolean; state: string; history: Array<{ residual_norm: number; converged: boolean }> };
        assert.equal(w.converged, true, JSON.stringify(w));
        assert.equal(w.state, 'converged');
        assert.ok(w.history.length >= 2, 'a residual history');
        assert.ok(w.history.at(-1)!.converged && w.history.at(-1)!.residual_norm <= 1e-8 * 1.0001, JSON.stringify(w.history.at(-1)));
        assert.ok(w.history[0]!.residual_norm > w.history.at(-1)!.residual_norm);
      });

      it('when costs are pushed, then the wait covers them: the session re-converges with the update applied', async () => {
        const push = await ok(c, 'solver_push_costs', { session_id: sid, delta_costs: { indices: [0, 5], values: [0.5, -0.25] } });
        assert.equal(push.topic, 'solver.costs');
        const w = await ok(c, 'solver_wait_converged', { session_id: sid, timeout_ms: 50_000 });
        assert.equal(w.converged, true, JSON.stringify(w));
        const s = await ok(c, 'solver_status', { session_id: sid });
        assert.equal(s.updates_sent, 1);
        assert.equal(s.updates_applied, 1);
        assert.equal(s.state, 'converged');
      });

      it('when a verification is asked, then the two verifier groups check the solution and their consensus says VERIFIED', async () => {
        const v = await ok(c, 'solver_verify', { session_id: sid, probe_count: 5, wait_ms: 40_000 }) as { verdict: string; verifier: { running: boolean }; verifications: Array<{ verifier_id: string; verified: boolean; iteration: number }>; consensus: { reached: boolean; participants: number; iteration: number } | null };
        assert.equal(v.verifier.running, true);
        assert.equal(v.verdict, 'verified', JSON.stringify(v));
        assert.equal(v.consensus!.reached, true);
        assert.equal(v.consensus!.participants, 2);
        // The checks listed are those of the judged iteration, also when they landed just before the request.
        assert.ok(v.verifications.length >= 1, JSON.stringify(v));
        assert.ok(v.verifications.every((x) => x.verified && x.iteration === v.consensus!.iteration), JSON.stringify(v.verifications));
      });

      it('when an entry estimate is asked, then the solver answers it, or the tool says plainly that this build cannot ask', async () => {
        if (loadEventSchemas().has('EntryEstimateRequested')) {
          const e = await ok(c, 'solver_estimate_entry', { session_id: sid, index: 3, eps: 1e-6 });
          assert.equal(e.index, 3);
          assert.ok(Number.isFinite(e.estimate as number));
        } else {
          assert.match(await toolError(c, 'solver_estimate_entry', { session_id: sid, index: 3 }), /^UNAVAILABLE: this build has no EntryEstimateRequested event .*nothing was sent/);
        }
        assert.match(await toolError(c, 'solver_estimate_entry', { session_id: sid, index: a.n }), /^BAD_REQUEST: index 64 is outside 0\.\.63/);
      });

      it('when a matrix edit names a stale old_value, then conflicts_query finds the conflict under the session', async () => {
        await ok(c, 'solver_push_costs', { session_id: sid, matrix_updates: [{ row: 0, col: 0, old_value: 999, new_value: 5 }] });
        let found: Array<{ cluster_id: string; sector_id: string }> = [];
        await waitFor(async () => {
          found = (await ok(c, 'conflicts_query', { cluster_id: sid }) as { conflicts: typeof found }).conflicts;
          return found.length > 0;
        }, 60_000, 'the conflict in conflicts_query');
        assert.equal(found[0]!.sector_id, 'solver');
      });

      it('given agents that joined the mesh, then mesh_best_agents and mesh_status read them from the registry, and mesh_coordinate returns their schedule and says no quorum came (no coordinator quorum service)', async () => {
        const cap = `mcp-${t.name.replace(/\W/g, '')}`;
        for (let i = 0; i < 3; i++) {
          const res = await fetch(`${base}/api/v1/swarm/join`, { method: 'POST', headers: { ...bearer('alice'), 'content-type': 'application/json' }, body: JSON.stringify({ agent_id: `${cap}-${i}`, agent_class: 'B', sector_id: 'S000', cluster_id: 'S000-C00', capabilities: [cap], latency_ms: 5 + i, processing_ms: 2 }) });
          assert.equal(res.status, 201);
        }
        let best: Array<{ agent_id: string }> = [];
        await waitFor(async () => {
          best = (await ok(reader, 'mesh_best_agents', { capability: cap, count: 5 }) as { agents: typeof best }).agents;
          return best.length === 3;
        }, 60_000, 'three agents in mesh_best_agents');
        assert.deepEqual(best.map((b) => b.agent_id).sort(), [0, 1, 2].map((i) => `${cap}-${i}`));
        const status = await ok(reader, 'mesh_status', {});
        assert.ok((status.total as number) >= 3, JSON.stringify(status));
        const co = await ok(c, 'mesh_coordinate', { targets: [`capability:${cap}`], arrive_in_ms: 3000, schedule_wait_ms: 30_000, quorum_wait_ms: 2000 }) as { schedule: { scheduled: number } | null; schedule_missing: string | null; quorum: unknown; quorum_missing: string | null };
        assert.equal(co.schedule_missing, null);
        assert.equal(co.schedule!.scheduled, 3);
        assert.equal(co.quorum, null);
        assert.match(co.quorum_missing!, /no QuorumDecided .* the coordinator service decides quorum/);
      });

      it('then each error is a tool error with a clear message: unknown parameter, bad matrix, unknown session, missing scope, unknown tool', async () => {
        assert.match(await toolError(c, 'solver_status', { session_id: sid, verbose: true }), /Unrecognized key: "verbose"/);
        assert.match(await toolError(c, 'solver_wait_converged', { session_id: sid, timeout_ms: 600_000 }), /timeout_ms/);
        assert.match(await toolError(c, 'solver_open_session', { matrix_market: '%%MatrixMarket matrix coordinate real general\n3 3 1\n4 1 2.0\n' }), /^BAD_REQUEST: matrix_market: /);
        assert.match(await toolError(c, 'solver_open_session', { matrix: { rows: 3, cols: 3, format: 'csr', data: { values: [1, 2], col_indices: [0, 1], row_pointers: [0, 1, 2] } } }), /^BAD_REQUEST: matrix\.data\.row_pointers has 3 entries; matrix\.rows 3 needs 4/);
        assert.match(await toolError(c, 'solver_open_session', {}), /^BAD_REQUEST: give exactly one of matrix/);
        assert.match(await toolError(c, 'solver_status', { session_id: '00000000-0000-4000-8000-000000000000' }), /^NOT_FOUND: no session 00000000-0000-4000-8000-000000000000 visible/);
        // Another owner's session is not disclosed.
        assert.match(await toolError(reader, 'solver_status', { session_id: sid }), /^NOT_FOUND/);
        assert.match(await toolError(reader, 'solver_open_session', { matrix_market: writeMatrixMarketCsr(a) }), /^FORBIDDEN: token of \S+ lacks scope "open", which solver_open_session needs/);
        assert.match(await toolError(reader, 'solver_push_costs', { session_id: sid, delta_costs: { indices: [0], values: [1] } }), /lacks scope "costs"/);
        assert.match(await toolError(c, 'solver_solve_everything', {}), /Tool solver_solve_everything not found/);
      });
    });
  }

  describe('/mcp on the gateway', () => {
    const raw = (headers: Record<string, string>) => new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${base}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }));
    });

    it('when the token is missing, or Host or Origin name another site (DNS rebinding), then 401 or 403 with the reason; a stateless GET is 405', async () => {
      assert.equal((await raw({})).status, 401);
      const host = await raw({ ...bearer('alice'), host: `evil.example:${gw.port}` });
      assert.equal(host.status, 403);
      assert.match((JSON.parse(host.body) as { message: string }).message, /Host "evil\.example:\d+" is not one this gateway answers MCP on/);
      const origin = await raw({ ...bearer('alice'), origin: 'http://evil.example' });
      assert.equal(origin.status, 403);
      assert.match((JSON.parse(origin.body) as { message: string }).message, /Origin "http:\/\/evil\.example" may not call MCP here/);
      assert.equal((await raw({ ...bearer('alice'), origin: `http://localhost:${gw.port}` })).status, 200);
      const get = await fetch(`${base}/mcp`, { headers: bearer('alice') });
      assert.equal(get.status, 405);
    });
  });
});
