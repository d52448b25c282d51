// The solver service as an operator runs it (`solvermesh run solver`, its own process, so its
// CPU is not the bench's), on fresh topics under a prefix, and a converged session in it.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConvergenceReached } from '../../schemas/generated/events';
import type { EventCodec } from '../../services/runtime/codec';
import { openSession, type OpenOptions } from '../../services/solver/events';
import { applyTopics } from '../../topics/apply';
import { allTopicSpecs, SOLVER_PARTITIONS, type TopicSpec } from '../../topics/catalog';
import type { Csr } from '../../wasm';
import { benchConsumer, type BenchConsumer, type BenchProducer } from './clients';
import { Coverage, within } from './measure';
import { RELAYED } from './relay';

const BIN = join(__dirname, '..', '..', 'bin', 'solvermesh');
/** The baseline's plain topic: no schema, no service, same partition count as solver.costs. */
export const PLAIN = 'bench.roundtrip';

/** The solver's topics, mesh.conflicts, the baseline's two, and `also` (logical names, with their DLQs). */
export async function freshTopics(brokers: string[], prefix: string, also: readonly string[] = []): Promise<void> {
  const costs = allTopicSpecs(prefix).find((t) => t.name === `${prefix}solver.costs`)!;
  const plain: TopicSpec = { ...costs, name: `${prefix}${PLAIN}`, dlq: false };
  const relayed: TopicSpec = { ...costs, name: `${prefix}${RELAYED}`, dlq: false };
  const wanted = ['solver.', 'mesh.conflicts', ...also].map((t) => prefix + t);
  await applyTopics(brokers, [...allTopicSpecs(prefix).filter((t) => wanted.some((w) => t.name.startsWith(w))), plain, relayed]);
}

export interface BaselineEnds {
  /** By partition: the plain topic read back, each record covering its own offset. */
  readonly plain: (partition: number) => Coverage;
  /** By partition (the relay keeps its input's key): relayed outputs, meta.sequence = their input's offset. */
  readonly relayed: (partition: number) => Coverage;
  readonly consumers: readonly BenchConsumer[];
}

/** Readers of the two baselines: the plain topic (raw round trip) and the relay's output (exactly-once floor). */
export async function readBaselines(brokers: string[], codec: EventCodec, prefix: string): Promise<BaselineEnds> {
  const plainParts = [...Array(SOLVER_PARTITIONS)].map(() => new Coverage());
  const relayedParts = [...Array(SOLVER_PARTITIONS)].map(() => new Coverage());
  const raw = await benchConsumer(brokers, `${prefix}${PLAIN}`, SOLVER_PARTITIONS, (rec) => plainParts[rec.partition]!.mark(rec.at, rec.offset));
  // Decoding is async; marks must stay in arrival order, so decode in a chain.
  let chain = Promise.resolve();
  const relay = await benchConsumer(brokers, `${prefix}${RELAYED}`, SOLVER_PARTITIONS, (rec) => {
    chain = chain.then(async () => {
      const { event } = await codec.decode(rec.value);
      relayedParts[rec.partition]!.mark(rec.at, Number((event.meta as { sequence: number }).sequence));
    });
  });
  return { plain: (p) => plainParts[p]!, relayed: (p) => relayedParts[p]!, consumers: [raw, relay] };
}

export interface ServiceProcess {
  readonly proc: ChildProcess;
  /** Port of /metrics once the service logged it. */
  port(): Promise<number>;
  metrics(): Promise<string>;
  /** CPU time (user + system, ms) the service process used so far. */
  cpuMs(): number;
  log(): string;
  stop(): Promise<void>;
}

export function startSolverProcess(prefix: string, env: NodeJS.ProcessEnv = {}): ServiceProcess {
  // BENCH_SERVICE_NODE_ARGS (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof) profiles the service only.
  const nodeOptions = process.env.BENCH_SERVICE_NODE_ARGS;
  return startServiceProcess('solver', prefix, nodeOptions ? { NODE_OPTIONS: nodeOptions, ...env } : env);
}

/** `solvermesh run <service>` on the topics under `prefix`; `env` overrides (INSTANCE_ID ...). */
export function startServiceProcess(service: string, prefix: string, env: NodeJS.ProcessEnv = {}): ServiceProcess {
  return startProcess(BIN, ['run', service], prefix, env);
}

/** The transactional relay (relay.ts) over the plain topic: the exactly-once floor. */
export function startRelayProcess(prefix: string): ServiceProcess {
  return startProcess(process.execPath, ['--require', 'tsx/cjs', join(__dirname, 'relay.ts'), PLAIN], prefix, {});
}

function startProcess(command: string, args: string[], prefix: string, env: NodeJS.ProcessEnv): ServiceProcess {
  const proc = spawn(command, args, {
    env: { ...process.env, TOPIC_PREFIX: prefix, HTTP_PORT: '0', LOG_LEVEL: 'info', INSTANCE_ID: `bench-${process.pid}`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => proc.on('exit', () => r()));
  // However the bench ends (an error, process.exit), the service does not outlive it.
  const orphaned = () => { if (proc.exitCode === null) proc.kill('SIGKILL'); };
  process.once('exit', orphaned);
  const port = async () => {
    for (let i = 0; i < 600; i++) {
      const m = /"port":(\d+)/.exec(out);
      if (m) return Number(m[1]);
      if (proc.exitCode !== null) throw new Error(`${args.join(' ')} exited: ${out.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${args.join(' ')} logged no port: ${out.slice(-2000)}`);
  };
  return {
    proc, port, log: () => out,
    cpuMs: () => {
      // /proc/<pid>/stat fields 14 and 15, in clock ticks (100 per second on Linux).
      const f = readFileSync(`/proc/${proc.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(f[11]) + Number(f[12])) * 10;
    },
    metrics: async () => (await fetch(`http://127.0.0.1:${await port()}/metrics`)).text(),
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    },
  };
}

/** Sum of a Prometheus counter's samples (all label sets, or those whose labels contain `label`, e.g. topic="solver.costs"). */
export function counter(text: string, name: string, label?: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!(line.startsWith(`${name} `) || line.startsWith(`${name}{`))) continue;
    if (label !== undefined && !line.slice(0, line.lastIndexOf(' ')).includes(label)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Produces a session's SessionOpened + chunks and resolves with its first ConvergenceReached. */
export async function openConverged(brokers: string[], codec: EventCodec, producer: BenchProducer, prefix: string, sessionId: string, a: Csr, b: Float64Array, o: OpenOptions, timeoutMs = Number(process.env.BENCH_OPEN_TIMEOUT_MS ?? 120_000)): Promise<ConvergenceReached> {
  let resolve!: (e: ConvergenceReached) => void;
  const converged = new Promise<ConvergenceReached>((r) => (resolve = r));
  const iterations = `${prefix}solver.iterations`;
  const consumer = await benchConsumer(brokers, iterations, SOLVER_PARTITIONS, (rec) => {
    void codec.decode(rec.value).then(({ event }) => {
      if (event.type === 'ConvergenceReached' && event.session_id === sessionId) resolve(event);
    });
  });
  try {
    const topic = `${prefix}solver.sessions`;
    for (const e of openSession(sessionId, a, b, o)) producer.send(topic, sessionId, await codec.encode(topic, e));
    await producer.drain();
    return await within(converged, timeoutMs, `session ${sessionId} to converge`);
  } finally {
    await consumer.close();
  }
}

