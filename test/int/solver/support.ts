// Shared pieces of the solver integration specs: the service as a child process (as an
// operator runs it), a session's events on the log, reading its outputs back.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { SolverInput } from '../../../services/cli/event-sender';
import type { TestKafka } from '../../support/kafka';
import { readLog } from '../../../services/runtime/kafka/log-reader';
import { isOneOf } from '../../../services/runtime/processor';
import { SOLVER_PARTITIONS } from '../../../topics/catalog';
import type { ConvergenceReached, EventOf, EventType, IterationCompleted, SolvermeshEvent } from '../../../schemas/generated/events';

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

/** A spec's child processes: their logs shown when a test fails, every one killed after each test. */
export function childrenOfEachTest(): SolverChild[] {
  const children: SolverChild[] = [];
  afterEach(function () {
    if (this.currentTest?.state === 'failed') for (const c of children) process.stderr.write(`--- ${c.proc.spawnargs.slice(2).join(' ')}\n${c.output()}\n`);
    for (const c of children.splice(0)) c.proc.kill('SIGKILL');
  });
  return children;
}

export async function send(k: TestKafka, topic: string, events: readonly SolverInput[], per = 500): Promise<void> {
  for (let i = 0; i < events.length; i += per) {
    await k.sendEvents(topic, events.slice(i, i + per).map((e) => ({ key: e.session_id, event: e })));
  }
}

/** A decoded event and where it sits in its topic. */
export type Logged<E extends SolvermeshEvent = SolvermeshEvent> = E & { readonly offset: number; readonly partition: number };

export const sessionOf = (e: SolvermeshEvent): string | undefined => ('session_id' in e ? e.session_id : undefined);

/** Every decoded event of a topic (all partitions, committed only), read to its current end. */
export async function readAll(k: TestKafka, topic: string): Promise<Logged[]> {
  const recs = await readLog(k.brokers, k.codec, [...Array(SOLVER_PARTITIONS).keys()].map((p) => ({ topic: k.topic(topic), partition: p, from: 0 })));
  const out: Logged[] = [];
  for (const r of recs) if (r.event) out.push({ ...r.event, offset: r.offset, partition: r.partition });
  return out;
}

/** readAll's events of one type, of one session when `sessionId` is given. */
export async function readOf<T extends EventType>(k: TestKafka, topic: string, type: T, sessionId?: string): Promise<Array<Logged<EventOf<T>>>> {
  const of = isOneOf([type]);
  const out: Array<Logged<EventOf<T>>> = [];
  for (const e of await readAll(k, topic)) if (of(e) && (sessionId === undefined || sessionOf(e) === sessionId)) out.push(e);
  return out;
}

/** Decoded IterationCompleted of a session, polled until `done`. */
export async function iterationsUntil(k: TestKafka, sessionId: string, done: (its: IterationCompleted[]) => boolean, timeoutMs = 120_000): Promise<IterationCompleted[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const its = await readOf(k, 'solver.iterations', 'IterationCompleted', sessionId);
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
    const mine = (await readAll(k, 'solver.iterations')).filter((e) => sessionOf(e) === sessionId);
    const conv = mine.filter((e) => e.type === 'ConvergenceReached').find((e) => costOffset(e) >= through);
    const its = mine.filter((e) => e.type === 'IterationCompleted');
    if (conv) return its.filter((e) => e.iteration <= conv.iteration);
    if (Date.now() > deadline) throw new Error(`timed out with ${its.length} IterationCompleted and no ConvergenceReached through cost offset ${through}; last ${JSON.stringify(its.at(-1)?.applied_through)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

export const costOffset = (e: IterationCompleted | ConvergenceReached) => e.applied_through.find((p) => p.topic === 'solver.costs')?.offset ?? -1;
