// Shared pieces of the solver integration specs: the service as a child process (as an
// operator runs it), a session's events on the log, reading its outputs back.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { DecodedEvent } from '../../../services/runtime/codec';
import type { TestKafka } from '../../support/kafka';
import { readLog } from '../../../services/runtime/kafka/log-reader';
import { SOLVER_PARTITIONS } from '../../../topics/catalog';
import type { ConvergenceReached, CostUpdated, IterationCompleted, MatrixChunkAppended, SessionOpened } from '../../../schemas/generated/events';

const BIN = join(__dirname, '..', '..', '..', 'bin', 'solvermesh');

export interface SolverChild {
  readonly proc: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startSolver(k: TestKafka, env: NodeJS.ProcessEnv = {}): SolverChild {
  return startRun(k, ['solver'], env);
}

/** `solvermesh run <args>` on the spec's topics. */
export function startRun(k: TestKafka, args: string[], env: NodeJS.ProcessEnv = {}): SolverChild {
  const proc = spawn(BIN, ['run', ...args], {
    env: { ...process.env, TOPIC_PREFIX: k.prefix, HTTP_PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return { proc, output: () => out, exited };
}

export async function send(k: TestKafka, topic: string, events: Array<SessionOpened | MatrixChunkAppended | CostUpdated | DecodedEvent>, per = 500): Promise<void> {
  for (let i = 0; i < events.length; i += per) {
    await k.sendEvents(topic, events.slice(i, i + per).map((e) => ({ key: (e as { session_id: string }).session_id, event: e as unknown as DecodedEvent })));
  }
}

/** Every decoded event of a topic (all partitions, committed only), read to its current end. */
export async function readAll(k: TestKafka, topic: string): Promise<Array<DecodedEvent & { offset: number; partition: number }>> {
  const recs = await readLog(k.brokers, k.codec, [...Array(SOLVER_PARTITIONS).keys()].map((p) => ({ topic: k.topic(topic), partition: p, from: 0 })));
  return recs.filter((r) => r.event).map((r) => ({ ...r.event!, offset: r.offset, partition: r.partition }));
}

/** Decoded IterationCompleted of a session, polled until `done`. */
export async function iterationsUntil(k: TestKafka, sessionId: string, done: (its: IterationCompleted[]) => boolean, timeoutMs = 120_000): Promise<IterationCompleted[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const its = (await readAll(k, 'solver.iterations')).filter((e) => e.type === 'IterationCompleted' && e.session_id === sessionId) as unknown as IterationCompleted[];
    if (done(its)) return its;
    if (Date.now() > deadline) throw new Error(`timed out with ${its.length} IterationCompleted; last ${JSON.stringify(its.at(-1)?.applied_through)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/**
 * The session's IterationCompleted up to its ConvergenceReached that covers cost offset
 * `through`: a fixed end point, whatever batches the outputs were committed in.
 */
export async function iterationsUntilConverged(k: TestKafka, sessionId: string, through: number, timeoutMs = 120_000): Promise<IterationCompleted[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mine = (await readAll(k, 'solver.iterations')).filter((e) => e.session_id === sessionId);
    const conv = mine.find((e) => e.type === 'ConvergenceReached' && costOffset(e as unknown as ConvergenceReached) >= through) as unknown as ConvergenceReached | undefined;
    const its = mine.filter((e) => e.type === 'IterationCompleted') as unknown as IterationCompleted[];
    if (conv) return its.filter((e) => e.iteration <= conv.iteration);
    if (Date.now() > deadline) throw new Error(`timed out with ${its.length} IterationCompleted and no ConvergenceReached through cost offset ${through}; last ${JSON.stringify(its.at(-1)?.applied_through)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

export const costOffset = (e: IterationCompleted | ConvergenceReached) => e.applied_through.find((p) => p.topic === 'solver.costs')?.offset ?? -1;
