// The simulator's agents in a process of their own, as a mesh's agents are: they answer what
// the coordinator dispatches (services/simulator/sim.ts startMeshAgents) until SIGTERM. Prints
// `ready` once their consumer has joined. Env: the runtime's, MESH_AGENTS, MESH_SEED, SLOW_AGENTS
// (comma-separated ids answering 5x slower), MESH_AGENTS_PARTITIONS (comma-separated mesh.dispatch
// partitions this process answers; default all).
import { loadConfig } from '../../services/runtime/config';
import { buildMesh, NO_FAULTS } from '../../services/simulator/generator';
import { ReceiptStats } from '../../services/simulator/receipt-stats';
import { startMeshAgents } from '../../services/simulator/sim';

async function main(): Promise<void> {
  const agents = Number(process.env.MESH_AGENTS ?? 30_000);
  const seed = Number(process.env.MESH_SEED ?? 1);
  const slow = new Set((process.env.SLOW_AGENTS ?? '').split(',').filter(Boolean));
  const stats = new ReceiptStats();
  const partitions = process.env.MESH_AGENTS_PARTITIONS ? process.env.MESH_AGENTS_PARTITIONS.split(',').map(Number) : undefined;
  const stop = await startMeshAgents({ config: loadConfig(), mesh: buildMesh(agents, seed), seed, faults: { ...NO_FAULTS, slow }, stats, ...(partitions ? { partitions } : {}) });
  process.stdout.write('ready\n');
  // Their receipt, a line a second while messages come (startAgents' caller may read it).
  setInterval(() => {
    const f = stats.take();
    if (f.received > 0 || f.acksSent > 0) process.stdout.write(`receipt ${JSON.stringify(f)}\n`);
  }, 1000).unref();
  const end = () => { stop().then(() => process.exit(0), (err: unknown) => { process.stderr.write(`agents: ${(err as Error).message}\n`); process.exit(1); }); };
  process.once('SIGTERM', end);
  process.once('SIGINT', end);
}

main().catch((err: unknown) => { process.stderr.write(`agents: ${(err as Error).message}\n`); process.exit(1); });
