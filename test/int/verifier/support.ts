// Shared pieces of the verifier specs: a converged session on the log, the verifiers' outputs.
import { poisson2d, smoothRhs } from '../../../wasm/src/problems';
import { openSession } from '../../../services/solver/events';
import type { SolvermeshEvent } from '../../../schemas/generated/events';
import type { TestKafka } from '../../support/kafka';
import { readAll, send, startRun, type SolverChild } from '../solver/support';

export const startVerifier = (k: TestKafka, group: string, env: NodeJS.ProcessEnv = {}): SolverChild => startRun(k, ['verifier', '--group', group], env);
export const startConsensus = (k: TestKafka, env: NodeJS.ProcessEnv = {}): SolverChild => startRun(k, ['consensus'], env);

export async function openPoisson(k: TestKafka, sessionId: string, side = 20): Promise<void> {
  const a = poisson2d(side);
  await send(k, 'solver.sessions', openSession(sessionId, a, smoothRhs(a.n), { verificationInterval: 10 }));
}

type Of<T extends SolvermeshEvent['type']> = Extract<SolvermeshEvent, { type: T }>;

/** The session's events of one type on a topic, polled until `done` holds. */
export async function eventsUntil<T extends SolvermeshEvent['type']>(k: TestKafka, topic: string, type: T, sessionId: string, done: (es: Array<Of<T>>) => boolean, timeoutMs = 90_000): Promise<Array<Of<T>>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const es = (await readAll(k, topic)).filter((e) => e.type === type && (e as unknown as { session_id: string }).session_id === sessionId) as unknown as Array<Of<T>>;
    if (done(es)) return es;
    if (Date.now() > deadline) throw new Error(`timed out waiting on ${type} in ${topic}: ${es.length} seen`);
    await new Promise((r) => setTimeout(r, 300));
  }
}
