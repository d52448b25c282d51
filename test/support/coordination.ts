// Shared pieces of the coordinator specs and of bench-coordination: a simulated mesh in the
// impedance registry, its agents and the coordinator as child processes, coordination requests
// of whole sectors, the outputs for one correlation id read back, and the gather folded over the
// log by the pure decider (what an uninterrupted run decides from the same inputs).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type Redis from 'ioredis';
import type { CoordinationRequested, EventOf, EventType, QuorumDecided, SolvermeshEvent } from '../../schemas/generated/events';
import { coordinationRequested } from '../../services/impedance/coordination';
import { loadConfig } from '../../services/runtime/config';
import { runMeshSim } from '../../services/simulator/sim';
import { decide, evolve, NO_GATHER, quorumEvent, type GatherInput } from '../../services/coordinator/gather';
import { SEED_THRESHOLDS } from '../../services/coordinator/quorum';
import { readLog, type LogRecord } from '../../services/runtime/kafka/log-reader';
import { isOneOf } from '../../services/runtime/processor';
import { MESH_PARTITIONS } from '../../topics/catalog';
import { waitFor, type TestKafka } from './kafka';
import { startRun, type SolverChild } from '../int/solver/support';
import { waitCaughtUp } from '../int/impedance/support';

/** The simulator's sectors hold 300 agents each (seed 002 §2.1). */
export const AGENTS_PER_SECTOR = 300;

/** `count` sector ids of the simulated mesh from the `first`. */
export const sectorIds = (first: number, count: number): string[] => Array.from({ length: count }, (_, i) => `sector:S${String(first + i).padStart(3, '0')}`);

/** An orchestrator's request that `targets` (agents, clusters or sectors) arrive at now + leadMs. */
export function sectorRequest(targets: string[], leadMs: number, windowMs: number, source = 'spec-orchestrator'): CoordinationRequested {
  const nowUs = Date.now() * 1000;
  return coordinationRequested({ targets, arrivalAtUs: nowUs + leadMs * 1000, nowUs, windowMs, source });
}

/**
 * Two heartbeat periods of an `agents`-agent mesh (seed 1), as fast as the broker takes them,
 * their event time just past, folded by the running impedance service into the registry at
 * `registryKeys` of `redis`; resolves once its last sector is complete there.
 */
export async function fillRegistry(k: TestKafka, redis: Redis, registryKeys: string, agents: number): Promise<void> {
  const config = loadConfig({ ...process.env, TOPIC_PREFIX: k.prefix });
  await runMeshSim({ config, agents, count: 2 * agents, seed: 1, startUs: (Date.now() - 12_000) * 1000 });
  await waitCaughtUp(k, 'mesh.heartbeats', 180_000);
  const last = `S${String(agents / AGENTS_PER_SECTOR - 1).padStart(3, '0')}`;
  await waitFor(async () => (await redis.zcard(`${registryKeys}z:sector:${last}`)) === AGENTS_PER_SECTOR, 60_000, `sector ${last} in the registry`);
}

/** The simulator's agents as a child process (mesh-agents-process.ts), those of `partitions` of mesh.dispatch (default all); resolves once they listen. */
export async function startAgents(k: TestKafka, agents: number, slow: Iterable<string>, partitions?: readonly number[]): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--require', 'tsx/cjs', join(__dirname, 'mesh-agents-process.ts')], {
    env: {
      ...process.env, TOPIC_PREFIX: k.prefix, LOG_LEVEL: 'warn', MESH_AGENTS: String(agents), MESH_SEED: '1', SLOW_AGENTS: [...slow].join(','),
      ...(partitions ? { MESH_AGENTS_PARTITIONS: partitions.join(',') } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(); });
    proc.on('exit', (code) => reject(new Error(`agents exited with ${code}: ${out}`)));
  });
  return proc;
}

export const startCoordinator = (k: TestKafka, env: NodeJS.ProcessEnv = {}): SolverChild => startRun(k, ['coordinator'], env);

/** Waits until the service's group is Stable with a member (it has its partitions and restored them before its first batch). */
export async function waitGroupStable(k: TestKafka, service: string, timeoutMs = 60_000): Promise<void> {
  const admin = k.kafka.admin();
  await admin.connect();
  try {
    await waitFor(async () => {
      const { groups } = await admin.describeGroups([`${k.prefix}solvermesh.${service}`]);
      return groups[0]?.state === 'Stable' && groups[0].members.length === 1;
    }, timeoutMs, `the ${service} group stable`);
  } finally {
    await admin.disconnect();
  }
}

export type Logged = LogRecord & { readonly event: SolvermeshEvent };

/** Every decodable record of a mesh topic, per partition in offset order. */
export async function readMesh(k: TestKafka, topic: string): Promise<Logged[]> {
  const recs = await readLog(k.brokers, k.codec, [...Array(MESH_PARTITIONS).keys()].map((p) => ({ topic: k.topic(topic), partition: p, from: 0 })));
  return recs.filter((r): r is Logged => r.event !== undefined);
}

export function ofType<T extends EventType>(recs: readonly Logged[], type: T, correlationId: string): Array<Logged & { event: EventOf<T> }> {
  const is = isOneOf([type]);
  return recs.filter((r): r is Logged & { event: EventOf<T> } => r.event.meta.correlation_id === correlationId && is(r.event));
}

/** Polls a mesh topic until `done` holds for the correlation's records of one type. */
export async function until<T extends EventType>(k: TestKafka, topic: string, type: T, correlationId: string, done: (rs: Array<Logged & { event: EventOf<T> }>) => boolean, timeoutMs = 60_000): Promise<Array<Logged & { event: EventOf<T> }>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rs = ofType(await readMesh(k, topic), type, correlationId);
    if (done(rs)) return rs;
    if (Date.now() > deadline) throw new Error(`timed out waiting on ${type} of ${correlationId} in ${topic}: ${rs.length} seen`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const isGatherInput = isOneOf(['DispatchCompleted', 'AckReceived', 'GatherWindowClosed', 'QuorumDecided'] as const);

/** The decision the pure gather makes from the correlation's mesh.acks records in log order, without any interruption (naming the record it was made at, as the coordinator does). */
export function foldDecision(acks: readonly Logged[], correlationId: string): QuorumDecided | undefined {
  let g = NO_GATHER;
  for (const r of acks) {
    const e = r.event;
    if (!isGatherInput(e) || e.meta.correlation_id !== correlationId) continue;
    const input: GatherInput = e;
    const d = decide(g, input, SEED_THRESHOLDS)[0];
    if (d) return quorumEvent(input, d, SEED_THRESHOLDS, { topic: 'mesh.acks', partition: r.partition, offset: Number(r.offset) });
    g = evolve(g, input, SEED_THRESHOLDS);
  }
  return undefined;
}

/** A decoded event as plain data (decoded records are avsc record instances). */
export const plain = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
