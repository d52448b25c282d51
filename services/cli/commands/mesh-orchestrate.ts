// The orchestrator console's broadcast, ask, delegate and cascade (seed 002 §7.1, §3.3): each an
// event (a CoordinationRequested on mesh.coordination, a CascadeRequested on mesh.cascades), then
// its outcome read from the log and printed. Exit codes: 0 done as asked; 1 bad input or no
// broker; 2 no outcome in time (are the impedance service, the coordinator and the agents
// running?); 4 refused by the mesh (frozen, its mode); 5 decided short of the goal (a PARTIAL
// broadcast with --require-ack, a delegate that did not answer READY, a FAILED or PARTIAL cascade).
import { randomInt, randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import {
  CASCADE_STRATEGY_SYMBOLS, type AckReceived, type CascadeCompleted, type CascadeRequested, type CascadeStrategy, type CoordinationRequested, type QuorumDecided,
} from '../../../schemas/generated/events';
import { topicSpec, type TopicName } from '../../../topics/catalog';
import { agentLeadMs, seedStages } from '../../coordinator/cascade-stages';
import { decidedEarly } from '../../coordinator/gather';
import { CASCADE_LATENCY_TARGET_MS } from '../../coordinator/kpis';
import { coordinationRequested, parseArrival } from '../../impedance/coordination';
import type { RegistryStore } from '../../impedance/registry-store';
import type { AgentSnapshot } from '../../impedance/summaries';
import { EventCodec } from '../../runtime/codec';
import { loadConfig, type RuntimeConfig } from '../../runtime/config';
import { errorMessage } from '../../runtime/errors';
import { endOffsets, readLog, type LogRecord } from '../../runtime/kafka/log-reader';
import { requestCoordination, type CoordinationOutcome } from '../coordination-request';
import { EventSender } from '../event-sender';
import { CliExit } from '../exit';
import { EXIT_NOT_APPLIED } from './mesh-console';
import { EXIT_REFUSED, withStore } from './mesh';

export const EXIT_SHORT = 5;

type Out = (line: string) => void;

function num(flag: string, v: string, min = 0): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min) throw new Error(`${flag} ${JSON.stringify(v)}: give a number >= ${min}`);
  return n;
}

const activeAgents = (store: RegistryStore) => store.snapshots().then((xs) => xs.filter((a) => a.state === 'ACTIVE'));

/** Sends the request and waits for its schedule and decision; exit 4 refused, 2 no decision. */
async function coordinate(config: RuntimeConfig, req: CoordinationRequested, waitS: number): Promise<{ outcome: CoordinationOutcome; decision: QuorumDecided; acksFrom: number[] }> {
  const acksFrom = await endOffsets(config.kafkaBrokers, config.topicPrefix + 'mesh.acks', topicSpec('mesh.acks').partitions);
  const sender = await EventSender.connect(config);
  let outcome: CoordinationOutcome;
  try {
    outcome = await requestCoordination(config, sender, req, { scheduleMs: waitS * 1000, quorumMs: waitS * 1000 });
  } finally {
    await sender.close();
  }
  if (outcome.refused !== null) throw new CliExit(EXIT_REFUSED, `${req.meta.correlation_id} refused by the mesh: ${outcome.refused}`);
  if (!outcome.quorum) throw new CliExit(EXIT_NOT_APPLIED, outcome.quorumMissing ?? outcome.scheduleMissing ?? `no decision for ${req.meta.correlation_id}`);
  return { outcome, decision: outcome.quorum, acksFrom };
}

/** The acks of one coordination written since `from` (the ends before it was sent). */
async function acksOf(config: RuntimeConfig, from: readonly number[], correlationId: string): Promise<AckReceived[]> {
  const topic = config.topicPrefix + 'mesh.acks';
  const recs = await readLog(config.kafkaBrokers, new EventCodec(config.schemaRegistryUrl), from.map((f, partition) => ({ topic, partition, from: f })));
  return recs.flatMap((r) => (r.event?.type === 'AckReceived' && r.event.meta.correlation_id === correlationId ? [r.event] : []));
}

interface ScatterFlags { priority: string; at: string; window: string; wait: string }

function request(targets: string[], text: string, o: ScatterFlags, routing: string, verb: string): CoordinationRequested {
  const nowUs = Date.now() * 1000;
  return coordinationRequested({
    targets, arrivalAtUs: parseArrival(o.at, nowUs), nowUs, priority: num('--priority', o.priority), windowMs: num('--window', o.window),
    routing, verb, payload: Buffer.from(text, 'utf8'),
  });
}

const everySector = (agents: readonly AgentSnapshot[]) => [...new Set(agents.map((a) => a.sectorId))].sort().map((s) => `sector:${s}`);

export async function meshBroadcast(config: RuntimeConfig, message: string, o: ScatterFlags & { requireAck?: boolean; targets?: string }, out: Out): Promise<void> {
  const targets = o.targets ? o.targets.split(',') : everySector(await withStore(config, activeAgents));
  if (targets.length === 0) throw new Error('no active agents in the registry to broadcast to (is the impedance service folding heartbeats?)');
  const { decision: d } = await coordinate(config, request(targets, message, o, 'BROADCAST', 'RECORD'), num('--wait', o.wait, 1));
  const received = d.sent_count - d.silent_count;
  // an early decision's unsettled agents are in silent_count, though they may still answer
  const unsettled = decidedEarly(d) ? d.unsettled_count! : 0;
  const silent = `${d.silent_count - d.late_count - unsettled} silent${unsettled > 0 ? `, ${unsettled} not yet answered (decided early)` : ''}`;
  out(`Broadcast complete: ${d.sent_count} sent, ${received} received in the window, ${d.ready_count} acknowledged READY, ${d.conflict_count} CONFLICT, ${d.late_count} late, ${silent}; ${d.decision} ${d.gather_status} (${d.meta.correlation_id})`);
  if (o.requireAck && d.gather_status !== 'SUCCESS') throw new CliExit(EXIT_SHORT, `acknowledged by ${d.ready_count}/${d.sent_count}, under the minimum response rate ${d.minimum_response_rate}`);
}

/** `n` distinct agents drawn uniformly (the console's sample). */
function sample<T>(xs: readonly T[], n: number): T[] {
  const a = [...xs];
  for (let i = 0; i < Math.min(n, a.length); i++) { const j = i + randomInt(a.length - i); [a[i], a[j]] = [a[j]!, a[i]!]; }
  return a.slice(0, Math.min(n, a.length));
}

/** The answers of a sample grouped as the seed's console prints them: READY, each kind of CONFLICT, late, silent. */
export function groupAnswers(asked: readonly string[], acks: readonly AckReceived[], windowEndUs: number): Array<{ count: number; answer: string }> {
  const first = new Map<string, AckReceived>();
  for (const a of acks) if (!first.has(a.agent_id)) first.set(a.agent_id, a);
  const groups = new Map<string, number>();
  for (const id of asked) {
    const a = first.get(id);
    const answer = !a ? 'no answer'
      : a.actual_arrival_at > windowEndUs ? `late (${a.state})`
        : a.state === 'CONFLICT' ? `CONFLICT (${a.conflict?.conflict_type ?? '?'}, context ${a.conflict?.context_hash ?? '?'})` : a.state;
    groups.set(answer, (groups.get(answer) ?? 0) + 1);
  }
  return [...groups].map(([answer, count]) => ({ answer, count })).sort((x, y) => y.count - x.count || (x.answer < y.answer ? -1 : 1));
}

export async function meshAsk(config: RuntimeConfig, question: string, o: ScatterFlags & { sample: string; capability?: string }, out: Out): Promise<void> {
  const n = num('--sample', o.sample, 1);
  const pool = await withStore(config, async (store) => {
    const active = await activeAgents(store);
    if (!o.capability) return active.map((a) => a.agentId);
    const capable = new Set(await store.members('capability', o.capability));
    return active.filter((a) => capable.has(a.agentId)).map((a) => a.agentId);
  });
  if (pool.length === 0) throw new Error(`no active agent${o.capability ? ` with ${o.capability}` : ''} in the registry to ask`);
  const asked = sample(pool, n);
  const { decision: d, acksFrom } = await coordinate(config, request(asked, question, o, 'SCATTER_GATHER', 'OBSERVE'), num('--wait', o.wait, 1));
  const groups = groupAnswers(asked, await acksOf(config, acksFrom, d.meta.correlation_id), d.window_end_at ?? Number.MAX_SAFE_INTEGER);
  out(`${asked.length} asked (${d.sent_count} sent, ${asked.length - d.sent_count} skipped by the schedule), ${d.sent_count - d.silent_count} answered in the window:`);
  for (const g of groups) out(`- ${g.count} agent${g.count === 1 ? '' : 's'}: ${g.answer}`);
  out(`${d.decision} ${d.gather_status} (${d.meta.correlation_id})`);
}

/** The agent a task goes to: the lowest-impedance ACTIVE one of a class, with a capability, or of the whole mesh. */
export async function pickDelegate(store: RegistryStore, to: string): Promise<string | null> {
  const cls = /^(?:class:)?(?:CLASS_)?([A-F])(?:_[A-Z]+)?$/.exec(to);
  if (to.startsWith('capability:')) return (await store.best(to.slice('capability:'.length), 1, 1000))[0]?.agentId ?? null;
  const active = await activeAgents(store);
  const members = cls ? new Set(await store.members('class', cls[1]!)) : null;
  if (!cls && to !== 'best_available') throw new Error(`--to ${JSON.stringify(to)}: give best_available, a class (CLASS_D_GPU, class:D) or capability:<c>`);
  const best = active.filter((a) => !members || members.has(a.agentId)).sort((a, b) => a.score - b.score || (a.agentId < b.agentId ? -1 : 1))[0];
  return best?.agentId ?? null;
}

export async function meshDelegate(config: RuntimeConfig, task: string, o: ScatterFlags & { to: string }, out: Out): Promise<void> {
  const agent = await withStore(config, (s) => pickDelegate(s, o.to));
  if (!agent) throw new CliExit(EXIT_SHORT, `no active agent matches --to ${o.to}; nothing was sent`);
  const req = request([agent], task, o, 'DIRECT', 'ACT');
  out(`Delegated to agent ${agent} (${req.meta.correlation_id})`);
  const { decision: d, acksFrom } = await coordinate(config, req, num('--wait', o.wait, 1));
  const ack = (await acksOf(config, acksFrom, d.meta.correlation_id)).find((a) => a.agent_id === agent);
  if (d.sent_count === 0) throw new CliExit(EXIT_SHORT, `${agent} was not sent the task (${d.reason ?? 'SKIP by its schedule'})`);
  if (!ack) throw new CliExit(EXIT_SHORT, `${agent} did not answer within its window (${d.decision})`);
  out(`Result ${ack.state} in ${((ack.actual_arrival_at - req.meta.occurred_at) / 1e6).toFixed(1)} seconds (processing ${ack.processing_ms.toFixed(0)} ms)`);
  if (ack.state !== 'READY') throw new CliExit(EXIT_SHORT, `${agent} answered ${ack.state}${ack.conflict ? ` (${ack.conflict.conflict_type})` : ''}`);
}

export function cascadeLine(c: CascadeCompleted): string {
  const ms = c.latency_us / 1000;
  const stages = c.stages.map((s) => `${s.label} ${s.outcome}${s.sent_count > 0 ? ` ${s.ready_count}/${s.sent_count} ready` : ''}`).join('; ');
  return `cascade ${c.meta.correlation_id} ${c.strategy}: ${c.status}${c.failed_stage === null ? '' : ` at stage ${c.failed_stage}`} in ${ms.toFixed(0)} ms (target <= ${CASCADE_LATENCY_TARGET_MS} ms), ${c.agents_reached} agents reached; ${stages}`;
}

/** Waits on a topic, from its ends now, for the first event `match` takes. */
async function follow<T>(config: RuntimeConfig, logical: TopicName): Promise<(match: (e: NonNullable<LogRecord['event']>) => T | undefined, ms: number) => Promise<T>> {
  const topic = config.topicPrefix + logical;
  const from = await endOffsets(config.kafkaBrokers, topic, topicSpec(logical).partitions);
  return async (match, ms) => {
    let found: T | undefined;
    await readLog(config.kafkaBrokers, new EventCodec(config.schemaRegistryUrl), from.map((f, partition) => ({ topic, partition, from: f })), {
      timeoutMs: ms, until: () => found !== undefined, onRecord: (r) => { if (r.event && found === undefined) found = match(r.event); },
    });
    return found!;
  };
}

interface CascadeFlags { strategy: string; sector: string[]; lead: string; path?: string; timeout: string; window?: string; wait: string; json?: boolean }

export async function meshCascade(config: RuntimeConfig, o: CascadeFlags, out: Out): Promise<void> {
  const strategy = o.strategy.toUpperCase() as CascadeStrategy;
  if (!CASCADE_STRATEGY_SYMBOLS.includes(strategy)) throw new Error(`--strategy ${o.strategy}: use wave, parallel or priority_first`);
  const waitS = num('--wait', o.wait, 1);
  const sectors = new Set(o.sector);
  const pathMs = o.path === undefined ? undefined : num('--path', o.path);
  const { agents, leadOf } = await withStore(config, async (store) => {
    const all = await activeAgents(store);
    const mine = sectors.size === 0 ? all : all.filter((a) => sectors.has(a.sectorId));
    // --path: each stage's lead sized to its targets from their registry entries
    const leads = pathMs === undefined ? undefined : new Map([...(await store.scheduleAgents(mine.map((a) => a.agentId))).values()].map((a) => [a.agentId, agentLeadMs(a)]));
    return { agents: mine, leadOf: leads };
  });
  const stages = seedStages(strategy, agents, {
    leadMs: num('--lead', o.lead, 1), timeoutMs: num('--timeout', o.timeout), ...(pathMs !== undefined && leadOf ? { sized: { pathMs, leadOf } } : {}),
  });
  if (o.window !== undefined) {
    const windowMs = num('--window', o.window);
    for (const [i, s] of stages.entries()) stages[i] = { ...s, arrival_window_ms: windowMs };
  }
  if (stages.some((s) => s.targets.length === 0)) throw new Error('no active agents in the registry (for those sectors) to cascade to');
  const id = randomUUID();
  const req: CascadeRequested = {
    type: 'CascadeRequested',
    meta: { event_id: randomUUID(), correlation_id: id, causation_id: null, occurred_at: Date.now() * 1000, producer: 'solvermesh-cli', sequence: null },
    strategy, stages, payload_weight: 0, priority: 2, source_agent_id: 'orchestrator',
  };
  const completion = await follow<CascadeCompleted>(config, 'mesh.cascades');
  const sender = await EventSender.connect(config);
  try {
    await sender.sendKeyed('mesh.cascades', [{ key: id, event: req }]);
  } finally {
    await sender.close();
  }
  let c: CascadeCompleted;
  try {
    c = await completion((e) => (e.type === 'CascadeCompleted' && e.meta.correlation_id === id ? e : undefined), waitS * 1000);
  } catch (err) {
    throw new CliExit(EXIT_NOT_APPLIED, `CascadeRequested ${id} is in ${config.topicPrefix}mesh.cascades but did not complete within ${waitS} s (is the coordinator running?). ${errorMessage(err)}`);
  }
  out(o.json ? JSON.stringify(c) : cascadeLine(c));
  if (c.status === 'FAILED' || c.status === 'PARTIAL') throw new CliExit(EXIT_SHORT, `cascade ${c.status}`);
}

export function registerOrchestration(mesh: Command): void {
  const scatter = (c: Command) => c
    .option('--priority <p>', '0 background .. 3 critical', '2')
    .option('--at <t>', 'target arrival time T: +2s, +500ms, an ISO time', '+2s')
    .option('--window <ms>', 'arrival window after T, ms', '500')
    .option('--wait <s>', 'seconds to wait for the decision', '60');
  const print = (l: string) => process.stdout.write(`${l}\n`);
  scatter(mesh.command('broadcast <message>')
    .description('send a message to every agent (or --targets) and count the acks (seed 002 §7.1). Exit 2: no decision in time; 4: refused; 5: --require-ack and PARTIAL')
    .option('--targets <list>', 'comma-separated agent ids or selectors; default every sector in the registry')
    .option('--require-ack', 'exit 5 unless the READY share reaches the minimum response rate'))
    .action(async (message: string, o: ScatterFlags & { requireAck?: boolean; targets?: string }) => meshBroadcast(loadConfig(), message, o, print));
  scatter(mesh.command('ask <question>')
    .description('ask a random sample of active agents and print their answers grouped (seed 002 §7.1). Exit 2: no decision in time; 4: refused')
    .option('--sample <n>', 'how many agents', '100')
    .option('--capability <c>', 'only agents with this capability'))
    .action(async (question: string, o: ScatterFlags & { sample: string; capability?: string }) => meshAsk(loadConfig(), question, o, print));
  scatter(mesh.command('delegate <task>')
    .description('give a task to the lowest-impedance active agent of a class or with a capability, then await its result (seed 002 §7.1). Exit 2: no decision in time; 4: refused; 5: no agent, or it did not answer READY')
    .option('--to <who>', 'best_available, a class (CLASS_D_GPU, class:D) or capability:<c>', 'best_available'))
    .action(async (task: string, o: ScatterFlags & { to: string }) => meshDelegate(loadConfig(), task, o, print));
  mesh.command('cascade')
    .description('cascade through the mesh (CascadeRequested, seed 002 §3.3): wave (sector coordinators, cluster leads, agents), parallel, or priority_first (GPU, persistent, serverless, edge, local); prints its status and latency. Exit 2: not completed in time; 5: FAILED or PARTIAL')
    .option('--strategy <s>', 'wave, parallel or priority_first', 'wave')
    .option('--sector <id>', 'only this sector (repeatable); default every sector', (v: string, all: string[]) => [...all, v], [])
    .option('--lead <ms>', 'each stage\'s T = its start + lead', '1000')
    .option('--path <ms>', 'size each stage\'s lead to its targets instead: T = its start + this path allowance + the largest lead time among them (latency / 2 + processing + drift buffer, within the seed\'s 1000 ms compensation range)')
    .option('--timeout <ms>', 'how long after T + window a stage\'s decision is awaited', '5000')
    .option('--window <ms>', 'every stage\'s arrival window (default the seed\'s: 200 ms for sector coordinators, 500 ms, 1000 ms for parallel)')
    .option('--wait <s>', 'seconds to wait for the cascade to complete', '120')
    .option('--json', 'print the CascadeCompleted as JSON')
    .action(async (o: CascadeFlags) => meshCascade(loadConfig(), o, print));
}
