// `make demo`'s mesh half: the impedance service and a simulated mesh in this process, with a
// status line every 5 s read from the registry.
import { impedanceService } from '../impedance';
import { connectRedis, RegistryStore } from '../impedance/registry-store';
import { registryPrefix } from '../impedance';
import { meshStatus, statusLine, type MeshStatus } from '../impedance/status';
import { loadConfig } from '../runtime/config';
import { startService } from '../runtime/service';
import { buildMesh, pickFaults } from './generator';
import { runMeshSim } from './sim';

export interface MeshDemoOptions {
  readonly durationMs: number;
  readonly agents?: number;
  readonly onStatus?: (line: string, status: MeshStatus) => void;
  readonly env?: NodeJS.ProcessEnv;
}

export async function runMeshDemo(o: MeshDemoOptions): Promise<MeshStatus> {
  const env = { HTTP_PORT: '0', LOG_LEVEL: 'warn', ...(o.env ?? process.env) };
  const config = loadConfig(env);
  const agents = o.agents ?? 30_000;
  const svc = await startService(impedanceService, env);
  const redis = connectRedis(config.redisUrl);
  const store = new RegistryStore(redis, registryPrefix(config.topicPrefix));
  const mesh = buildMesh(agents, 1);
  // A few faults so the status has something to say: slow agents and a failing cluster.
  const faults = pickFaults(mesh, { slow: Math.round(agents / 500), dead: Math.round(agents / 1000), drifting: Math.round(agents / 500), failingClusters: [mesh[mesh.length - 1]!.clusterId] }, 3);
  const report = async () => {
    const s = await meshStatus(store, Date.now() * 1000);
    o.onStatus?.(statusLine(s), s);
    return s;
  };
  const timer = setInterval(() => { report().catch(() => undefined); }, 5_000);
  try {
    await runMeshSim({ config, agents, durationMs: o.durationMs, faults, acks: true });
    return await report();
  } finally {
    clearInterval(timer);
    redis.disconnect();
    await svc.stop();
  }
}

if (require.main === module) {
  runMeshDemo({ durationMs: Number(process.env.MESH_DEMO_MS ?? 30_000), onStatus: (l) => process.stdout.write(`${l}\n`) })
    .then(() => process.exit(0), (err: unknown) => { process.stderr.write(`mesh demo: ${(err as Error).message}\n`); process.exit(1); });
}
