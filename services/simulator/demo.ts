// `make demo`'s mesh half: the impedance service and a simulated mesh in this process, with a
// status line every 5 s read from the registry, and a final check against what the injected
// faults must produce.
//
// Each run has its own namespace: mesh topics and registry keys under `demo-mesh-<run>.`,
// deleted at the end. A run once showed 1,997 of 29,940 agents active because the registry
// (db 0, `mesh:`) held a previous run's agents: the registry skipped a write whose revision was
// older than the stored one (so a zombie owner cannot roll an agent back), and a log started
// afresh (make clean-data wipes Kafka, not Redis; a longer earlier run left higher revisions)
// counts revisions from 1 again, so most agents kept their stale last heartbeat. (Reproduced:
// 3,000 agents for 45 s, the topics deleted and created again, Redis kept, then 20 s: 45 of
// 2,967 active at the end. The registry now orders writes by last heartbeat first:
// registry-store.ts.) The status was also read at the wall clock, so a service lagging 30 s
// behind the simulator showed live agents as offline. Now the status is read at the registry's
// own event time, once the service has caught up with what the simulator sent.
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { kafkajsConfig } from '../runtime/credentials';
import { allTopicSpecs } from '../../topics/catalog';
import { applyTopics } from '../../topics/apply';
import { EventSender } from '../cli/event-sender';
import { coordinatorService } from '../coordinator';
import { impedanceService, registryPrefix } from '../impedance';
import { coordinationRequested } from '../impedance/coordination';
import { connectRedis, RegistryStore, unlinkPrefixed } from '../impedance/registry-store';
import { meshStatus, statusLine, type MeshStatus } from '../impedance/status';
import { loadConfig, type RuntimeConfig } from '../runtime/config';
import { readKnobs } from '../runtime/knobs';
import { DEMO_KNOBS } from '../demo/config';
import { startService } from '../runtime/service';
import { checkMeshDemo, expectedStatus, type MeshDemoResult } from './expectation';
import { buildMesh, pickFaults } from './generator';
import { runMeshSim } from './sim';

export { checkMeshDemo, type MeshDemoResult };

export interface MeshDemoOptions {
  readonly durationMs: number;
  readonly agents?: number;
  readonly onStatus?: (line: string, status: MeshStatus) => void;
  /** A coordination request to one cluster every this many ms (default 5 s). */
  readonly coordinateEveryMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Run `startMsBeforeEnd` before the simulation ends, while the agents still answer; its result comes back as `finale`. */
  readonly finale?: { readonly startMsBeforeEnd: number; readonly run: (config: RuntimeConfig) => Promise<string[]> };
}

export async function runMeshDemo(o: MeshDemoOptions): Promise<MeshDemoResult> {
  const ns = await openMeshNamespace('demo-mesh', o.env);
  const { env, config } = ns;
  const agents = o.agents ?? 30_000;
  const svc = await startService(impedanceService, env);
  // The coordinator dispatches the schedules the simulated agents answer.
  const dispatcher = await startService(coordinatorService, env);
  const redis = connectRedis(config.redisUrl);
  const store = new RegistryStore(redis, registryPrefix(config.topicPrefix));
  const mesh = buildMesh(agents, 1);
  // Slow, drifting and dead agents and a failing cluster; the dead send one period (5 s) first,
  // so they are in the registry and go offline 30 s of event time after it.
  const faults = pickFaults(mesh, {
    slow: Math.round(agents / 500), dead: Math.round(agents / 1000), drifting: Math.round(agents / 500),
    failingClusters: [mesh[mesh.length - 1]!.clusterId], diesAfterPeriods: 1,
  }, 3);
  const report = async () => {
    const s = await meshStatus(store);
    if (s.total > 0) o.onStatus?.(statusLine(s), s); // nothing to say while the service starts
  };
  const timer = setInterval(() => { report().catch(() => undefined); }, 5_000);
  const coordinator = await coordinateEvery(config, [...new Set(mesh.map((a) => a.clusterId))], o.coordinateEveryMs ?? 5_000);
  try {
    const startUs = Date.now() * 1000;
    const simulating = runMeshSim({ config, agents, durationMs: o.durationMs, faults, acks: true, startUs });
    const finale = o.finale && (async () => {
      await new Promise((r) => setTimeout(r, Math.max(0, o.durationMs - o.finale!.startMsBeforeEnd)));
      return o.finale!.run(config);
    })();
    // A finale that fails before the simulation ends is awaited below, not left unhandled.
    finale?.catch(() => undefined);
    const sim = await simulating;
    clearInterval(timer);
    const finaleLines = finale ? await finale : undefined;
    const requests = await coordinator.stop();
    // The last heartbeats sent were due at about startUs + elapsed: wait (up to 60 s) for the
    // registry's event time to get within a period of them, so a lagging service is not
    // mistaken for offline agents.
    const lastSentUs = startUs + sim.elapsedMs * 1000;
    const deadline = Date.now() + 60_000;
    // A read that times out (Redis busy with the service's writes on a loaded machine) is asked again.
    const read = async (): Promise<MeshStatus | undefined> => meshStatus(store).catch((err: unknown) => {
      if (Date.now() >= deadline) throw err;
      return undefined;
    });
    let status = await read();
    while ((status === undefined || status.atUs < lastSentUs - 5_000_000) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      status = (await read()) ?? status;
    }
    status ??= await meshStatus(store);
    o.onStatus?.(`${statusLine(status)} (final, at the registry's event time ${new Date(status.atUs / 1000).toISOString()})`, status);
    const accuracy = await store.accuracy(Math.floor(status.atUs / 1000));
    return { status, expected: expectedStatus(mesh, faults, startUs, status.atUs), coordination: { requests, accuracy }, ...(finaleLines ? { finale: finaleLines } : {}) };
  } finally {
    clearInterval(timer);
    await coordinator.stop().catch(() => undefined); // reported above when the run got that far
    await dispatcher.stop();
    await svc.stop();
    await ns.drop().catch(() => undefined);
    redis.disconnect();
  }
}

/**
 * An orchestrator: every period, one cluster (in turn) is asked to arrive at T = now + 3 s. The
 * coordinator service dispatches the schedules and the simulated agents answer with acks, which
 * the impedance service measures against its predictions (seed 002 §11.1). stop() resolves to the number of requests sent.
 */
async function coordinateEvery(config: RuntimeConfig, clusters: readonly string[], periodMs: number): Promise<{ stop: () => Promise<number> }> {
  const sender = await EventSender.connect(config);
  let sent = 0;
  // The first failed send is kept and reported by stop(); a rejection left waiting for the next
  // tick would end the process as unhandled.
  let failure: unknown;
  let sending: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    if (failure !== undefined) return;
    const nowUs = Date.now() * 1000;
    const req = coordinationRequested({ targets: [`cluster:${clusters[sent % clusters.length]!}`], arrivalAtUs: nowUs + 3_000_000, nowUs, source: 'demo-orchestrator' });
    sent++;
    sending = sending
      .then(async () => { await sender.sendKeyed('mesh.coordination', [{ key: req.meta.correlation_id, event: req }]); })
      .catch((err: unknown) => { failure ??= err; });
  }, periodMs);
  let stopped: Promise<number> | undefined;
  return {
    stop: () => (stopped ??= (async () => {
      clearInterval(timer);
      try { await sending; } finally { await sender.close(); }
      if (failure !== undefined) throw new Error(`coordination request not sent: ${(failure as Error).message}`);
      return sent;
    })()),
  };
}

/** A demo run's own mesh topics and registry keys, under `<TOPIC_PREFIX><label>-<run>.`. */
export interface MeshNamespace {
  /** The environment of the run's services and clients (HTTP_PORT 0, LOG_LEVEL warn unless set). */
  readonly env: NodeJS.ProcessEnv;
  readonly config: RuntimeConfig;
  /** Deletes the run's topics and registry keys (only those under its own prefix). */
  drop(): Promise<void>;
}

export async function openMeshNamespace(label: string, baseEnv: NodeJS.ProcessEnv = process.env): Promise<MeshNamespace> {
  const base = { HTTP_PORT: '0', LOG_LEVEL: 'warn', ...baseEnv };
  const prefix = `${loadConfig(base).topicPrefix}${label}-${randomBytes(4).toString('hex')}.`;
  const env = { ...base, TOPIC_PREFIX: prefix };
  const config = loadConfig(env);
  const specs = allTopicSpecs(prefix).filter((t) => t.name.startsWith(`${prefix}mesh.`));
  await applyTopics(config.kafkaBrokers, specs);
  const drop = async () => {
    const admin = new Kafka(kafkajsConfig({ clientId: 'solvermesh-demo', brokers: [...config.kafkaBrokers], logLevel: logLevel.NOTHING })).admin();
    await admin.connect();
    try { await admin.deleteTopics({ topics: specs.map((t) => t.name), timeout: 30_000 }); } finally { await admin.disconnect(); }
    const redis = connectRedis(config.redisUrl);
    try { await unlinkPrefixed(redis, registryPrefix(prefix)); } finally { redis.disconnect(); }
  };
  return { env, config, drop };
}

if (require.main === module) {
  Promise.resolve().then(() => runMeshDemo({ durationMs: readKnobs(DEMO_KNOBS).demoMeshMs, onStatus: (l) => process.stdout.write(`${l}\n`) }))
    .then((r) => { process.stdout.write(`${checkMeshDemo(r)}\n`); process.exit(0); }, (err: unknown) => { process.stderr.write(`mesh demo: ${(err as Error).message}\n`); process.exit(1); });
}
