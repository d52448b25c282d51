// The MCP tools, one definition each, served alike over stdio (`solvermesh mcp`) and the gateway's
// /mcp: a strict input schema (unknown parameters are refused), an output schema (the
// structuredContent), hints, the gateway scope a token needs, and a run() that reuses the gateway's
// and the CLI's code. Errors come back as tool errors `CODE: message`, never as transport failures.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ResourceLink, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { loadEventSchemas } from '../../schemas/catalog';
import type { SolvermeshEvent } from '../../schemas/generated/events';
import { multiply } from '../../wasm/index';
import { requestCoordination } from '../cli/coordination-request';
import { problemsOf } from '../cli/event-sender';
import type { Scope } from '../gateway/auth';
import { GatewayError, toHttpError } from '../gateway/errors';
import { publishSession, visibleSession } from '../gateway/routes-sessions';
import { costEvent, publishCosts, requestVerification } from '../gateway/routes-swarm';
import { normaliseSolve, type SolveRequest } from '../gateway/solve-request';
import { coordinationRequested } from '../impedance/coordination';
import { meshStatus } from '../impedance/status';
import { derivedEventId } from '../runtime/ids';
import { matrixMarketToCsr, parseMatrixMarket } from '../solver/matrix-market';
import { streamUrl, type ToolContext } from './deps';
import { waitConverged, waitEstimate, waitVerdict, whenFolded } from './waits';

/** Longest any tool waits: MCP clients commonly give up on a call after 60 s. */
export const MAX_WAIT_MS = 55_000;
/** How long a call waits for the projection to read back what it just wrote. */
const FOLD_WAIT_MS = 10_000;

interface ToolSpec<I extends z.ZodObject, O extends z.ZodObject> {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly scope: Scope;
  readonly annotations: ToolAnnotations;
  readonly input: I;
  readonly output: O;
  run(args: z.output<I>, ctx: ToolContext): Promise<{ out: z.input<O>; links?: ResourceLink[] }>;
}

export interface McpTool {
  readonly name: string;
  readonly scope: Scope;
  register(server: McpServer, ctx: ToolContext): void;
}

/** A tool error the client can read: the gateway's code, then the reason. */
export function toolError(err: unknown): CallToolResult {
  const e = toHttpError(err);
  return { isError: true, content: [{ type: 'text', text: `${e.code}: ${e.message}` }] };
}

function tool<I extends z.ZodObject, O extends z.ZodObject>(spec: ToolSpec<I, O>): McpTool {
  return {
    name: spec.name,
    scope: spec.scope,
    register: (server, ctx) => {
      server.registerTool(spec.name, {
        // Widened to ZodObject for the SDK's overloads; the SDK has parsed args with spec.input.
        title: spec.title, description: spec.description, inputSchema: spec.input as z.ZodObject, outputSchema: spec.output as z.ZodObject,
        annotations: { title: spec.title, openWorldHint: false, ...spec.annotations },
      }, async (args, extra): Promise<CallToolResult> => {
        try {
          const { out, links = [] } = await spec.run(args as z.output<I>, { ...ctx, signal: extra.signal });
          const structured = out as Record<string, unknown>;
          return { structuredContent: structured, content: [{ type: 'text', text: JSON.stringify(structured) }, ...links] };
        } catch (err) {
          return toolError(err);
        }
      });
    },
  };
}

const bad = (message: string): never => { throw new GatewayError('BAD_REQUEST', message); };
const waitMs = (what: string, def: number) => z.number().int().min(0).max(MAX_WAIT_MS).default(def).describe(`How long to wait for ${what}, ms (at most ${MAX_WAIT_MS}); the call returns by then whatever happened.`);
const sessionId = z.uuid().describe('The session id solver_open_session returned.');

const SUMMARY = z.object({
  session_id: z.string(), state: z.string(), reason: z.string().nullable(),
  unknowns: z.number().nullable(), nnz: z.number().nullable(), method: z.string().nullable(), running: z.string().nullable(),
  tolerance: z.number().nullable(), opened_at: z.string().nullable(), iteration: z.number().nullable(), residual: z.number().nullable(),
  updates_sent: z.number(), updates_applied: z.number(), updates_dead_lettered: z.number(), conflicts: z.number(), owner: z.string().nullable(),
  verification: z.object({ iteration: z.number(), verified: z.boolean(), max_error: z.number(), drift_detected: z.boolean() }).nullable(),
});

const POSITION = z.object({ topic: z.string(), partition: z.number(), offset: z.number() });

/** A solve request from a JSON matrix (the gateway's formats) or a Matrix Market text. */
function solveRequestOf(a: z.output<typeof OPEN_INPUT>): SolveRequest {
  if ((a.matrix === undefined) === (a.matrix_market === undefined)) bad('give exactly one of matrix (CSR/CSC/COO/dense JSON) and matrix_market (Matrix Market text)');
  let matrix: SolveRequest['matrix'];
  if (a.matrix_market !== undefined) {
    let csr;
    try { csr = matrixMarketToCsr(parseMatrixMarket(a.matrix_market)); } catch (err) { return bad(`matrix_market: ${(err as Error).message}`); }
    matrix = { rows: csr.n, cols: csr.n, format: 'csr', data: { values: [...csr.values], col_indices: [...csr.colIdx], row_pointers: [...csr.rowPtr] } };
  } else {
    matrix = a.matrix!;
  }
  const req = {
    ...(a.session_id ? { session_id: a.session_id } : {}),
    matrix,
    vector: a.vector ?? [],
    method: a.method,
    options: {
      ...(a.tolerance !== undefined ? { tolerance: a.tolerance } : {}),
      ...(a.max_iterations !== undefined ? { max_iterations: a.max_iterations } : {}),
      ...(a.preconditioner !== undefined ? { preconditioner: a.preconditioner } : {}),
      ...(a.verification_interval !== undefined ? { verification_interval: a.verification_interval } : {}),
    },
  };
  if (a.vector !== undefined) return req;
  // b = A·1 when none is given, as `solvermesh session open` does without --rhs.
  const { a: csr } = normaliseSolve({ ...req, vector: new Array<number>(matrix.rows).fill(0) });
  return { ...req, vector: [...multiply(csr, new Float64Array(csr.n).fill(1))] };
}

const OPEN_INPUT = z.strictObject({
  matrix: z.strictObject({
    rows: z.number().int().min(1), cols: z.number().int().min(1), nnz: z.number().int().min(0).optional(),
    format: z.enum(['csr', 'csc', 'coo', 'dense']),
    data: z.record(z.string(), z.unknown()).describe('csr: {values, col_indices, row_pointers}; csc: {values, row_indices, col_pointers}; coo: {values, row_indices, col_indices} (duplicates summed); dense: {values: number[][]}'),
  }).optional().describe('A square matrix as JSON (the gateway\'s solve-stream formats). Give this or matrix_market.'),
  matrix_market: z.string().max(20_000_000).optional().describe('A square matrix as Matrix Market text (coordinate or array). Give this or matrix.'),
  vector: z.array(z.number()).optional().describe('b, one entry per row; default b = A·1.'),
  method: z.enum(['jacobi', 'gauss_seidel', 'cg', 'bicgstab', 'neumann', 'hybrid']).default('hybrid'),
  tolerance: z.number().positive().optional().describe('Relative tolerance on ||b - Ax|| / ||b|| (default 1e-8).'),
  max_iterations: z.number().int().min(1).optional(),
  preconditioner: z.enum(['none', 'jacobi', 'ilu', 'ilu0']).optional(),
  verification_interval: z.number().int().min(1).optional().describe('Iterations between IterationCompleted events (default 100).'),
  session_id: z.uuid().optional().describe('Choose the session id (default: a new one).'),
});

const openSessionTool = tool({
  name: 'solver_open_session',
  title: 'Open a solver session',
  description: 'Opens a streaming solve session for Ax = b (seed 000 sublinear_solver_stream): publishes SessionOpened and the matrix chunks, and returns at once with the session id and a link to its event stream on the gateway. Follow it with solver_wait_converged or the stream.',
  scope: 'open',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  input: OPEN_INPUT,
  output: z.object({
    session_id: z.string(), owner: z.string(), unknowns: z.number(), nnz: z.number(), chunks: z.number(), source_format: z.string(),
    method: z.string(), tolerance: z.number(), opened_at: POSITION, stream_url: z.string(),
  }),
  run: async (a, ctx) => {
    const opened = await publishSession(ctx.deps, ctx.principal, solveRequestOf(a));
    // The next call (status, wait, costs) reads the projection: it must hold this session first.
    const at = opened.opened_at;
    if (!(await whenFolded(ctx.deps.hub, at.topic, at.partition, at.offset, FOLD_WAIT_MS))) {
      throw new GatewayError('UNAVAILABLE', `session ${opened.session_id} was sent (solver.sessions partition ${at.partition} offset ${at.offset}) but this server's projection has not read it back within ${FOLD_WAIT_MS} ms; it will appear in solver_status once it has`);
    }
    const url = streamUrl(ctx.gatewayUrl, opened.session_id);
    return {
      out: { ...opened, stream_url: url },
      links: [{ type: 'resource_link', uri: url, name: `session ${opened.session_id} events`, mimeType: 'application/x-ndjson', description: 'The session\'s iterations, convergence, verifications and conflicts as NDJSON (or SSE with Accept: text/event-stream), served by the gateway once it has read the session from the log; send the same bearer token.' }],
    };
  },
});

const pushCostsTool = tool({
  name: 'solver_push_costs',
  title: 'Push cost updates',
  description: 'Sends one cost update to a session (seed 000 §2.2): deltas on b and/or matrix entry edits (a mismatched old_value becomes a conflict). The session re-converges warm-started; wait with solver_wait_converged.',
  scope: 'costs',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
  input: z.strictObject({
    session_id: sessionId,
    delta_costs: z.strictObject({ indices: z.array(z.number().int().min(0)), values: z.array(z.number()) }).optional().describe('b[indices[k]] += values[k].'),
    matrix_updates: z.array(z.strictObject({ row: z.number().int().min(0), col: z.number().int().min(0), old_value: z.number(), new_value: z.number() })).optional(),
    update_id: z.string().min(1).max(200).optional().describe('Idempotency id (default: a new one).'),
    source_node: z.string().min(1).max(200).optional(),
  }),
  output: z.object({ session_id: z.string(), event_id: z.string(), topic: z.string(), partition: z.number(), offset: z.number() }),
  run: async (a, ctx) => {
    const e = costEvent(ctx.deps, ctx.principal, { ...a, flush: true });
    const [ack] = await publishCosts(ctx.deps, [e], 0);
    ctx.deps.costsSent.note(e.session_id, ack!.partition, ack!.offset);
    return { out: { session_id: ack!.session_id, event_id: ack!.event_id, topic: ack!.topic, partition: ack!.partition, offset: ack!.offset } };
  },
});

const statusTool = tool({
  name: 'solver_status',
  title: 'Session status',
  description: 'A session\'s state from the gateway\'s projection of the log: opened, converging, converged (on every update sent), closed, rejected; iteration, residual, updates sent/applied, conflicts, last verification.',
  scope: 'read',
  annotations: { readOnlyHint: true, idempotentHint: true },
  input: z.strictObject({ session_id: sessionId }),
  output: SUMMARY,
  run: async (a, ctx) => ({ out: visibleSession(ctx.deps, ctx.principal, a.session_id) }),
});

const waitConvergedTool = tool({
  name: 'solver_wait_converged',
  title: 'Wait for convergence',
  description: 'Waits, at most timeout_ms, until the session converged on every cost update sent (or was rejected or closed), and returns its residual history. timed_out: true says the wait ended first; call again to keep waiting.',
  scope: 'read',
  annotations: { readOnlyHint: true, idempotentHint: true },
  input: z.strictObject({
    session_id: sessionId,
    timeout_ms: waitMs('convergence', 30_000),
    history_limit: z.number().int().min(1).max(1000).default(100).describe('Most recent residual points returned.'),
  }),
  output: z.object({
    session_id: z.string(), state: z.string(), converged: z.boolean(), timed_out: z.boolean(), reason: z.string().nullable(),
    iteration: z.number().nullable(), residual: z.number().nullable(), waited_ms: z.number(),
    history: z.array(z.object({ iteration: z.number(), residual_norm: z.number(), converged: z.boolean() })),
  }),
  run: async (a, ctx) => {
    const s = visibleSession(ctx.deps, ctx.principal, a.session_id);
    const w = await waitConverged(ctx.deps.hub, s.session_id, ctx.deps.costsSent.of(s.session_id), a.timeout_ms, a.history_limit, ctx.signal);
    return { out: { session_id: s.session_id, ...w } };
  },
});

const verifyTool = tool({
  name: 'solver_verify',
  title: 'Verify a solution',
  description: 'Asks for a random-probe verification of the session\'s current solution (seed 000 solver_verification): publishes VerificationRequested, then waits up to wait_ms for the verifier groups\' results and their consensus recorded after the request. When no verifier service runs it says so at once instead of waiting.',
  scope: 'open',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  input: z.strictObject({
    session_id: sessionId,
    probe_count: z.number().int().min(1).max(100).default(10),
    probe_size: z.number().int().min(1).optional().describe('Rows per probe (default min(100, n)).'),
    seed: z.number().int().min(0).optional(),
    wait_ms: waitMs('the verdict', 20_000),
  }),
  output: z.object({
    session_id: z.string(), event_id: z.string(), request: POSITION, probe_count: z.number(), probe_size: z.number(),
    verifier: z.object({ running: z.boolean(), message: z.string() }),
    verifications: z.array(z.object({ verifier_id: z.string(), iteration: z.number(), verified: z.boolean(), max_error: z.number(), drift_detected: z.boolean() })),
    consensus: z.object({ reached: z.boolean(), iteration: z.number(), outcome: z.string().nullable(), participants: z.number(), threshold: z.number() }).nullable(),
    verdict: z.enum(['verified', 'rejected', 'no_consensus', 'pending', 'no_verifier']),
    message: z.string(),
  }),
  run: async (a, ctx) => {
    const fromMs = Date.now();
    const r = await requestVerification(ctx.deps, ctx.principal, { session_id: a.session_id, probe_count: a.probe_count, ...(a.probe_size !== undefined ? { probe_size: a.probe_size } : {}), ...(a.seed !== undefined ? { seed: a.seed } : {}) });
    if (!r.verifier.running) {
      return { out: { ...r, verifications: [], consensus: null, verdict: 'no_verifier' as const, message: r.verifier.message } };
    }
    const waited = await waitVerdict(ctx.deps.hub, r.session_id, fromMs, a.wait_ms, ctx.signal);
    const { consensus, verifications } = waited;
    const verdict = consensus === null ? 'pending' as const : !consensus.reached ? 'no_consensus' as const : consensus.outcome === 'VERIFIED' ? 'verified' as const : 'rejected' as const;
    const message = consensus !== null
      ? `consensus ${consensus.reached ? `reached: ${consensus.outcome}` : 'not reached'} among ${consensus.participants} verifier group(s) at iteration ${consensus.iteration}`
      : `${verifications.length} verification(s) and no consensus within ${a.wait_ms} ms${verifications.length > 0 ? ' (is the consensus service running?)' : ''}; later results arrive on the session stream`;
    return { out: { ...r, verifications, consensus, verdict, message } };
  },
});

let estimateSchemaKnown: boolean | undefined;
const ESTIMATE_REQUEST = 'EntryEstimateRequested';

const estimateTool = tool({
  name: 'solver_estimate_entry',
  title: 'Estimate one entry of x',
  description: 'Asks the solver for a sublinear estimate of one component x_i (local push or random-walk Neumann sampling) without a full solve: publishes EntryEstimateRequested on solver.commands and waits up to timeout_ms for the solver\'s EntryEstimated. Says so when no answer arrives.',
  scope: 'open',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  input: z.strictObject({
    session_id: sessionId,
    index: z.number().int().min(0),
    eps: z.number().positive().default(1e-6).describe('Target bound on |estimate - x_i|.'),
    method: z.enum(['local_push', 'random_walk_neumann']).default('local_push'),
    walks: z.number().int().min(1).max(1_000_000).default(1000),
    delta: z.number().min(1e-12).max(0.5).default(0.001),
    seed: z.number().int().min(0).default(1),
    timeout_ms: waitMs('the estimate', 15_000),
  }),
  output: z.object({
    session_id: z.string(), index: z.number(), n: z.number(), estimate: z.number(), error_bound: z.number(), confidence: z.number(),
    method: z.string(), work: z.number(), applied_through: z.array(POSITION), request_event_id: z.string(),
  }),
  run: async (a, ctx) => {
    const s = visibleSession(ctx.deps, ctx.principal, a.session_id);
    const n = s.unknowns ?? 0;
    if (a.index >= n) bad(`index ${a.index} is outside 0..${n - 1} (the session has ${n} unknowns)`);
    // The request event lands with the solver's single-entry estimates; a build without its schema cannot send it.
    estimateSchemaKnown ??= loadEventSchemas().has(ESTIMATE_REQUEST);
    if (!estimateSchemaKnown) throw new GatewayError('UNAVAILABLE', `this build has no ${ESTIMATE_REQUEST} event (schemas/solver): the solver's single-entry estimates are not part of it, so there is nothing to ask; nothing was sent`);
    const now = Date.now() * 1000;
    const eventId = derivedEventId(s.session_id, `estimate:${randomUUID()}`);
    // Typed by its schema once that is in the generated union; until then built to the .avsc.
    const request = {
      type: ESTIMATE_REQUEST,
      meta: { event_id: eventId, correlation_id: s.session_id, causation_id: null, occurred_at: now, producer: 'gateway', sequence: null },
      session_id: s.session_id, requested_by: ctx.principal.subject, index: a.index, eps: a.eps, method: a.method.toUpperCase(),
      walks: a.walks, delta: a.delta, seed: a.seed,
    } as unknown as SolvermeshEvent;
    const problems = problemsOf(request);
    if (problems.length > 0) bad(`the solver would refuse this request: ${problems.slice(0, 3).join('; ')}`);
    const answer = waitEstimate(ctx.deps.hub, [eventId, derivedEventId(eventId, 'sequenced')], a.timeout_ms, ctx.signal);
    await ctx.deps.sender.sendKeyed('solver.commands', [{ key: s.session_id, event: request }]);
    ctx.deps.metrics.published.inc({ topic: 'solver.commands' });
    const e = await answer;
    if (!e) throw new GatewayError('UNAVAILABLE', `no EntryEstimated answered request ${eventId} within ${a.timeout_ms} ms: the solver service must run (a build that answers ${ESTIMATE_REQUEST}), and a refused request is dead-lettered on solver.commands.dlq; the request was sent`);
    const refusal = (e as { refusal?: string | null }).refusal;
    if (refusal) bad(`the solver refused the estimate: ${refusal}`);
    return { out: { session_id: e.session_id, index: e.index, n: e.n, estimate: e.estimate, error_bound: e.error_bound, confidence: e.confidence, method: e.method, work: Number(e.work), applied_through: e.applied_through, request_event_id: eventId } };
  },
});

const meshStatusTool = tool({
  name: 'mesh_status',
  title: 'Mesh status',
  description: 'The agent mesh at a glance from the impedance registry (seed 002 §7.1): agents active/total, quarantined, offline, sectors healthy, mean impedance, conflicts in the last hour, arrival prediction hit rate, operational mode.',
  scope: 'read',
  annotations: { readOnlyHint: true, idempotentHint: true },
  input: z.strictObject({}),
  output: z.object({
    total: z.number(), active: z.number(), quarantined: z.number(), offline: z.number(), activeRate: z.number(), sectors: z.number(),
    sectorsHealthy: z.number(), meanImpedance: z.number(), conflictsLastHour: z.number(), predictionHitRate: z.number().nullable(), mode: z.string(), atUs: z.number(),
  }),
  run: async (_a, ctx) => ({ out: await meshStatus(ctx.deps.registry) }),
});

const meshBestTool = tool({
  name: 'mesh_best_agents',
  title: 'Best agents for a capability',
  description: 'The lowest-impedance ACTIVE agents with a capability (seed 002 §4.3 find_best_agents_for_capability), from the impedance registry.',
  scope: 'read',
  annotations: { readOnlyHint: true, idempotentHint: true },
  input: z.strictObject({
    capability: z.string().min(1).max(200),
    count: z.number().int().min(1).max(1000).default(5),
    max_impedance: z.number().min(0).max(1000).default(500),
  }),
  output: z.object({ capability: z.string(), agents: z.array(z.object({ agent_id: z.string(), score: z.number(), agent_class: z.string(), cluster_id: z.string() })) }),
  run: async (a, ctx) => {
    const best = await ctx.deps.registry.best(a.capability, a.count, a.max_impedance);
    return { out: { capability: a.capability, agents: best.map((b) => ({ agent_id: b.agentId, score: b.score, agent_class: b.agentClass, cluster_id: b.clusterId })) } };
  },
});

const SCHEDULE_SUMMARY = z.object({
  scheduled: z.number(), skipped: z.record(z.string(), z.number()), buckets: z.number(),
  firstSendMsBeforeT: z.number().nullable(), lastSendMsBeforeT: z.number().nullable(), meanConfidence: z.number().nullable(),
});

const meshCoordinateTool = tool({
  name: 'mesh_coordinate',
  title: 'Coordinate an arrival',
  description: 'Asks for a coordinated arrival (CoordinationRequested, seed 002 §3): every target READY at T. Waits up to schedule_wait_ms for the impedance service\'s send schedule and up to quorum_wait_ms for the coordinator\'s trinary quorum (QuorumDecided from the agents\' acks); says which answer did not arrive and which service must run.',
  scope: 'costs',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  input: z.strictObject({
    targets: z.array(z.string().min(1)).min(1).max(10_000).describe('Agent ids or selectors: class:A, cluster:S000-C00, sector:S003, capability:<c>.'),
    arrive_in_ms: z.number().int().min(0).max(3_600_000).default(2000).describe('T = now + this.'),
    payload_weight: z.number().min(0).default(0),
    priority: z.number().int().min(0).max(3).default(2),
    verb: z.enum(['OBSERVE', 'ORIENT', 'DECIDE', 'ACT', 'RECORD', 'SYNC']).default('ACT'),
    window_ms: z.number().int().min(0).default(500),
    capabilities: z.array(z.string().min(1)).max(64).default([]),
    schedule_wait_ms: waitMs('the schedule', 10_000),
    quorum_wait_ms: waitMs('the quorum', 0),
  }),
  output: z.object({
    correlation_id: z.string(), message_id: z.string(), target_arrival_time: z.number(), sent: POSITION,
    schedule: SCHEDULE_SUMMARY.nullable(), schedule_missing: z.string().nullable(),
    quorum: z.object({ decision: z.string(), achieved: z.boolean(), total: z.number(), ready_count: z.number(), transit_count: z.number(), conflict_count: z.number(), confidence: z.number().nullable(), reason: z.string().nullable(), recommendation: z.string().nullable() }).nullable(),
    quorum_missing: z.string().nullable(),
  }),
  run: async (a, ctx) => {
    const nowUs = Date.now() * 1000;
    let req;
    try {
      req = coordinationRequested({
        targets: a.targets, arrivalAtUs: nowUs + a.arrive_in_ms * 1000, nowUs, weight: a.payload_weight, priority: a.priority, verb: a.verb,
        windowMs: a.window_ms, capabilities: a.capabilities, source: ctx.principal.subject,
      });
    } catch (err) { return bad((err as Error).message); }
    let r;
    try {
      r = await requestCoordination(ctx.deps.runtime, ctx.deps.sender, req, {
        ...(a.schedule_wait_ms > 0 ? { scheduleMs: a.schedule_wait_ms } : {}), ...(a.quorum_wait_ms > 0 ? { quorumMs: a.quorum_wait_ms } : {}),
      });
    } catch (err) {
      if (err instanceof Error && /would be dead-lettered/.test(err.message)) bad(err.message);
      throw err;
    }
    const q = r.quorum;
    return {
      out: {
        correlation_id: r.correlation_id, message_id: r.message_id, target_arrival_time: r.target_arrival_time, sent: r.sent,
        schedule: r.schedule?.summary ?? null, schedule_missing: r.scheduleMissing,
        quorum: q && { decision: q.decision, achieved: q.achieved, total: q.total, ready_count: q.ready_count, transit_count: q.transit_count, conflict_count: q.conflict_count, confidence: q.confidence, reason: q.reason, recommendation: q.recommendation },
        quorum_missing: r.quorumMissing,
      },
    };
  },
});

const conflictsTool = tool({
  name: 'conflicts_query',
  title: 'Recent conflicts',
  description: 'The most recent conflicts reported on the mesh conflict log (seed 002 §5.1), newest first, from the gateway\'s projection (it keeps the last 50), filtered by agent, sector, cluster (a solver session\'s stale matrix edits have sector "solver" and the session id as cluster) or type.',
  scope: 'read',
  annotations: { readOnlyHint: true, idempotentHint: true },
  input: z.strictObject({
    agent_id: z.string().optional(), sector_id: z.string().optional(), cluster_id: z.string().optional(), conflict_type: z.string().optional(),
    limit: z.number().int().min(1).max(50).default(20),
  }),
  output: z.object({
    conflicts: z.array(z.object({ conflict_id: z.string(), agent_id: z.string(), sector_id: z.string().nullable(), cluster_id: z.string().nullable(), conflict_type: z.string(), at: z.string() })),
    mode: z.object({ mode: z.string(), description: z.string(), active_rate: z.number() }).nullable(),
  }),
  run: async (a, ctx) => {
    const snap = ctx.deps.hub.mesh.snapshot();
    const match = (c: (typeof snap.conflicts)[number]) => (a.agent_id === undefined || c.agent_id === a.agent_id)
      && (a.sector_id === undefined || c.sector_id === a.sector_id) && (a.cluster_id === undefined || c.cluster_id === a.cluster_id)
      && (a.conflict_type === undefined || c.conflict_type === a.conflict_type.toUpperCase());
    return { out: { conflicts: snap.conflicts.filter(match).slice(0, a.limit), mode: snap.mode } };
  },
});

export const TOOLS: readonly McpTool[] = [
  openSessionTool, pushCostsTool, statusTool, waitConvergedTool, verifyTool, estimateTool,
  meshStatusTool, meshBestTool, meshCoordinateTool, conflictsTool,
];
