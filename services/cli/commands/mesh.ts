// `solvermesh mesh best|status`: routing queries and the status box, answered from the registry;
// `mesh health|replay`: the guardian's fold of mesh.guardian, summarised or checked bit for bit;
// `mesh coordinate`: a coordination request onto mesh.coordination, and with --wait the schedule
// the impedance service computes for it.
import type { Command } from 'commander';
import { registryPrefix } from '../../impedance';
import { coordinationRequested, parseArrival, scheduleLine } from '../../impedance/coordination';
import { connectRedis, RegistryStore } from '../../impedance/registry-store';
import { formatStatusBox, meshStatus } from '../../impedance/status';
import { loadConfig, type RuntimeConfig } from '../../runtime/config';
import { errorMessage } from '../../runtime/errors';
import { requestCoordination } from '../coordination-request';
import { EventSender } from '../event-sender';
import { CliExit } from '../exit';
import { registerApprove } from './mesh-approve';
import { registerConsole } from './mesh-console';
import { meshHealth, meshReplay } from './mesh-guardian';
import { formatKpiBox, meshKpis } from './mesh-kpis';
import { registerOrchestration } from './mesh-orchestrate';
import { meshScheduleReplay } from './mesh-schedules';
import { meshCoordinationReplay } from './mesh-coordination';
import { meshSummaryReplay } from './mesh-summaries';

/** `mesh coordinate --wait`: the mesh refused the request (frozen, or its operational mode). */
export const EXIT_REFUSED = 4;

export async function withStore<T>(config: RuntimeConfig, fn: (s: RegistryStore) => Promise<T>): Promise<T> {
  const redis = connectRedis(config.redisUrl);
  try {
    return await fn(new RegistryStore(redis, registryPrefix(config.topicPrefix)));
  } finally {
    redis.disconnect();
  }
}

export async function meshBest(config: RuntimeConfig, o: { capability: string; count: number; maxImpedance: number }): Promise<string> {
  return withStore(config, async (store) => {
    const t0 = process.hrtime.bigint();
    const { agents: best, circuitOpen } = await store.route(o.capability, o.count, o.maxImpedance);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const rows = best.map((b, i) => `${String(i + 1).padStart(3)}  ${b.agentId.padEnd(16)} ${b.score.toFixed(1).padStart(7)}  ${b.agentClass.padEnd(19)} ${b.clusterId}`);
    const out = [`${best.length} active agents with ${o.capability} under impedance ${o.maxImpedance} (${ms.toFixed(2)} ms)`, ...rows];
    if (circuitOpen.length > 0) {
      const clusters = [...new Set(circuitOpen.map((a) => a.clusterId))].sort();
      out.push(`left out (CIRCUIT_OPEN): ${circuitOpen.length} agents of ${clusters.join(', ')}, behind an open breaker`);
    }
    return out.join('\n');
  });
}

interface CoordinateFlags {
  targets: string;
  at: string;
  weight: string;
  priority: string;
  verb: string;
  window: string;
  capability: string[];
  correlationId?: string;
  wait?: string | boolean;
  json?: boolean;
}

const collect = (v: string, all: string[]) => [...all, v];
const positiveInt = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} ${JSON.stringify(v)}: give a whole number >= 1`);
  return n;
};

/**
 * Sends one request; with --wait, waits for every chunk of its schedule (coordination-request.ts).
 * Exit 1 with the reason when it is not in time.
 */
export async function meshCoordinate(config: RuntimeConfig, o: CoordinateFlags, out: (line: string) => void): Promise<void> {
  const nowUs = Date.now() * 1000;
  const num = (flag: string, v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`${flag} ${JSON.stringify(v)} is not a number`);
    return n;
  };
  const req = coordinationRequested({
    targets: o.targets.split(','), arrivalAtUs: parseArrival(o.at, nowUs), nowUs,
    weight: num('--weight', o.weight), priority: num('--priority', o.priority), verb: o.verb.toUpperCase(),
    windowMs: num('--window', o.window), capabilities: o.capability, ...(o.correlationId ? { correlationId: o.correlationId } : {}),
  });
  const waitS = o.wait === undefined || o.wait === false ? undefined : o.wait === true ? 30 : num('--wait', o.wait);
  if (waitS !== undefined && !(waitS > 0)) throw new Error(`--wait ${waitS}: give a number of seconds > 0`);
  const sender = await EventSender.connect(config);
  let r;
  try {
    r = await requestCoordination(config, sender, req, waitS === undefined ? {} : { scheduleMs: waitS * 1000 });
  } finally {
    await sender.close();
  }
  if (waitS === undefined) { out(o.json ? JSON.stringify({ correlation_id: r.correlation_id, message_id: r.message_id }) : r.correlation_id); return; }
  if (r.refused !== null) throw new CliExit(EXIT_REFUSED, `${r.correlation_id} refused by the mesh: ${r.refused}`);
  if (!r.schedule) throw new Error(r.scheduleMissing ?? `no schedule for ${r.correlation_id}`);
  if (o.json) out(JSON.stringify({ correlation_id: r.correlation_id, message_id: r.message_id, target_arrival_time: r.target_arrival_time, summary: r.schedule.summary, entries: r.schedule.entries }));
  else out(`schedule ${r.correlation_id} for T = ${new Date(r.target_arrival_time / 1000).toISOString()}: ${scheduleLine(r.schedule.summary)}`);
}

export function register(program: Command): void {
  const mesh = program.command('mesh').description('the agent mesh: registry queries (Redis) and coordination requests');
  mesh
    .command('best')
    .description('the lowest-impedance active agents with a capability (seed 002 §4.3)')
    .requiredOption('--capability <c>', 'capability the agents need')
    .option('--count <n>', 'how many agents', (v) => Number.parseInt(v, 10), 5)
    .option('--max-impedance <z>', 'highest impedance score accepted (0-1000)', (v) => Number(v), 500)
    .action(async (o: { capability: string; count: number; maxImpedance: number }) => {
      process.stdout.write(`${await meshBest(loadConfig(), o)}\n`);
    });
  mesh
    .command('status')
    .description('the mesh status box: agents active, sectors healthy, mean impedance, conflicts, mode; and the coordination KPIs of the newest decisions (seed 002 §11.1)')
    .option('--decisions <n>', 'how many of the newest QuorumDecided the KPIs cover', positiveInt('--decisions'), 100)
    .option('--max-records <n>', 'most records read back from the end of each mesh.acks partition to find them', positiveInt('--max-records'), 1_000_000)
    .action(async (o: { decisions: number; maxRecords: number }) => {
      const config = loadConfig();
      process.stdout.write(`${formatStatusBox(await withStore(config, (s) => meshStatus(s)))}\n`);
      try {
        process.stdout.write(`${formatKpiBox(await meshKpis(config, { decisions: o.decisions, maxRecords: o.maxRecords }))}\n`);
      } catch (err) {
        throw new Error(`coordination KPIs: cannot read ${config.topicPrefix}mesh.acks: ${errorMessage(err)}`);
      }
    });
  mesh
    .command('health')
    .description('the guardian\'s health summary (seed 004): components monitored, learned patterns, breakers not closed, recent witnesses, mode')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      process.stdout.write(`${await meshHealth(loadConfig(), o)}\n`);
    });
  mesh
    .command('replay')
    .description('refold the guardian\'s recorded inputs (mesh.guardian) and compare every breaker, mode and witness event bit for bit; exit 1 on divergence')
    .action(async () => {
      const r = await meshReplay(loadConfig());
      process.stdout.write(`${r.line}\n`);
      if (!r.ok) process.exitCode = 1;
    });
  mesh
    .command('replay-schedules')
    .description('recompute every send schedule from the log at the registry and mesh.circuits positions it names, and compare it bit for bit; exit 1 on divergence, naming the first')
    .action(async () => {
      const r = await meshScheduleReplay(loadConfig());
      process.stdout.write(`${r.line}\n`);
      if (!r.ok) process.exitCode = 1;
    });
  mesh
    .command('replay-summaries')
    .description('recompute every cluster, sector and mesh summary from the log at the registry positions it names, and compare it bit for bit (the prediction-accuracy fields included); exit 1 on divergence, naming the first')
    .action(async () => {
      const r = await meshSummaryReplay(loadConfig());
      process.stdout.write(`${r.line}\n`);
      if (!r.ok) process.exitCode = 1;
    });
  mesh
    .command('replay-coordination')
    .description('refold the coordinator\'s own input partitions (mesh.schedules, mesh.acks, mesh.cascades) with its dispatch, gather and cascade steps and compare every MessageDispatched, DispatchCompleted, QuorumDecided, payload-mismatch report and cascade output bit for bit; exit 1 on divergence, naming the first')
    .action(async () => {
      const r = await meshCoordinationReplay(loadConfig(), (n, total) => process.stderr.write(`refolded ${n} of ${total} inputs\n`));
      process.stdout.write(`${r.line}\n`);
      if (!r.ok) process.exitCode = 1;
    });
  mesh
    .command('coordinate')
    .description('ask for a coordinated arrival (CoordinationRequested, seed 002 §3): prints the correlation id, or with --wait the schedule (exit 4 when the mesh refuses it, e.g. MESH_FROZEN)')
    .requiredOption('--targets <list>', 'comma-separated agent ids or selectors: class:A, cluster:S000-C00, sector:S003, capability:<c>')
    .option('--at <t>', 'target arrival time T: +2s, +500ms, an ISO time, or µs since the epoch', '+2s')
    .option('--weight <w>', 'payload weight (processing estimate scales by 1 + 0.5 w)', '0')
    .option('--priority <p>', '0 background .. 3 critical', '2')
    .option('--verb <v>', 'OBSERVE, ORIENT, DECIDE, ACT, RECORD or SYNC', 'ACT')
    .option('--window <ms>', 'arrival window after T, ms', '500')
    .option('--capability <c>', 'capability a target needs (repeatable)', collect, [])
    .option('--correlation-id <id>', 'send it under this correlation id (one an operator approved: mesh approve)')
    .option('--wait [s]', 'wait (default 30 s) for the schedule and print its summary')
    .option('--json', 'print JSON (with --wait: the whole schedule)')
    .action(async (o: CoordinateFlags) => {
      await meshCoordinate(loadConfig(), o, (l) => process.stdout.write(`${l}\n`));
    });
  registerConsole(mesh);
  registerOrchestration(mesh);
  registerApprove(mesh);
}
