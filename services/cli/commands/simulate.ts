// `solvermesh simulate mesh`: a MESH-30K population sending heartbeats (and answering schedules).
import type { Command } from 'commander';
import { loadConfig } from '../../runtime/config';
import { buildMesh, pickFaults } from '../../simulator/generator';
import { runMeshSim } from '../../simulator/sim';

const duration = (v: string): number => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) throw new Error(`--duration ${JSON.stringify(v)}: use e.g. 30s, 2m or 500ms`);
  const n = Number(m[1]);
  return m[2] === 'm' ? n * 60_000 : m[2] === 'ms' ? n : n * 1000;
};
const list = (v: string): string[] => v.split(',').map((x) => x.trim()).filter(Boolean);

export function register(program: Command): void {
  const simulate = program.command('simulate').description('load generators');
  simulate
    .command('mesh')
    .description('heartbeats of a simulated agent mesh (seed 002 §2.2 class mix), one per agent every 5 s')
    .option('--agents <n>', 'number of agents', (v) => Number.parseInt(v, 10), 30_000)
    .option('--duration <d>', 'run this long in real time (e.g. 60s, 5m)', duration)
    .option('--count <n>', 'send this many heartbeats as fast as possible, then stop', (v) => Number.parseInt(v, 10))
    .option('--seed <n>', 'PRNG seed', (v) => Number.parseInt(v, 10), 1)
    .option('--slow <n>', 'agents answering 5x slower', (v) => Number.parseInt(v, 10), 0)
    .option('--dead <n>', 'agents that stop sending heartbeats', (v) => Number.parseInt(v, 10), 0)
    .option('--dead-after <d>', 'event time the dead agents and failing clusters still send heartbeats for, e.g. 10s (0: never heard from)', duration, 0)
    .option('--drifting <n>', 'agents with wandering latency', (v) => Number.parseInt(v, 10), 0)
    .option('--conflicting <n>', 'agents answering every dispatched message with CONFLICT (with --acks)', (v) => Number.parseInt(v, 10), 0)
    .option('--failing-cluster <ids>', 'comma-separated cluster ids whose agents all stop (e.g. S003-C07)', list, [])
    .option('--acks', 'agents answer the messages the coordinator dispatches on mesh.dispatch with acks on mesh.acks, at their simulated arrival', false)
    .action(async (o: { agents: number; duration?: number; count?: number; seed: number; slow: number; dead: number; deadAfter: number; drifting: number; conflicting: number; failingCluster: string[]; acks: boolean }) => {
      const config = loadConfig();
      for (const [name, v] of [['--agents', o.agents], ['--seed', o.seed], ['--slow', o.slow], ['--dead', o.dead], ['--drifting', o.drifting], ['--conflicting', o.conflicting], ...(o.count !== undefined ? [['--count', o.count] as const] : [])] as const) {
        if (!Number.isInteger(v) || v < 0 || (name === '--agents' && v === 0)) throw new Error(`${name} must be a ${name === '--agents' ? 'positive' : 'non-negative'} integer, got ${v}`);
      }
      const mesh = buildMesh(o.agents, o.seed);
      const clusters = new Set(mesh.map((a) => a.clusterId));
      const unknown = o.failingCluster.filter((c) => !clusters.has(c));
      if (unknown.length > 0) throw new Error(`--failing-cluster ${unknown.join(',')}: no such cluster among ${o.agents} agents (e.g. ${mesh[0]!.clusterId})`);
      // A period is 5 s: an agent dead after 10 s sends its heartbeats of periods 0 and 1.
      const diesAfterPeriods = Math.ceil(o.deadAfter / 5000);
      const faults = pickFaults(mesh, { slow: o.slow, dead: o.dead, drifting: o.drifting, conflicting: o.conflicting, failingClusters: o.failingCluster, diesAfterPeriods }, o.seed + 1);
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      process.once('SIGTERM', () => ac.abort());
      const end = await runMeshSim({
        config, agents: o.agents, seed: o.seed, faults, acks: o.acks, signal: ac.signal,
        ...(o.count !== undefined ? { count: o.count } : o.duration !== undefined ? { durationMs: o.duration } : {}),
        onProgress: (p) => process.stderr.write(`simulate: ${p.sent} heartbeats, ${p.acks} acks, ${(p.elapsedMs / 1000).toFixed(1)} s, ${Math.round(p.ratePerS)}/s\n`),
      });
      const ids = (xs: ReadonlySet<string>) => [...xs].sort();
      process.stdout.write(`${JSON.stringify({
        agents: o.agents, heartbeats: end.sent, acks: end.acks, seconds: end.elapsedMs / 1000, rate_per_s: Math.round(end.ratePerS),
        faults: { slow: ids(faults.slow), dead: ids(faults.dead), drifting: ids(faults.drifting), conflicting: ids(faults.conflicting), failing_clusters: ids(faults.failingClusters), dies_after_periods: diesAfterPeriods },
      })}\n`);
    });
}
