// Shared pieces of the verifier specs: a converged session on the log, the verifiers' outputs.
import { poisson2d, smoothRhs } from '../../../wasm/src/problems';
import { openSession } from '../../../services/solver/events';
import type { EventOf, EventType } from '../../../schemas/generated/events';
import { isOneOf } from '../../../services/runtime/processor';
import type { TestKafka } from '../../support/kafka';
import { readAll, send, startRun, type SolverChild } from '../solver/support';

export const startVerifier = (k: TestKafka, group: string, env: NodeJS.ProcessEnv = {}): SolverChild => startRun(k, ['verifier', '--group', group], env);
export const startConsensus = (k: TestKafka, env: NodeJS.ProcessEnv = {}): SolverChild => startRun(k, ['consensus'], env);

export async function openPoisson(k: TestKafka, sessionId: string, side = 20): Promise<void> {
  const a = poisson2d(side);
  await send(k, 'solver.sessions', openSession(sessionId, a, smoothRhs(a.n), { verificationInterval: 10 }));
}

/** The session's events of one type on a topic, polled until `done` holds. */
export async function eventsUntil<T extends EventType>(k: TestKafka, topic: string, type: T, sessionId: string, done: (es: Array<EventOf<T>>) => boolean, timeoutMs = 90_000): Promise<Array<EventOf<T>>> {
  const deadline = Date.now() + timeoutMs;
  const isType = isOneOf([type]);
  for (;;) {
    const es: Array<EventOf<T>> = [];
    for (const e of await readAll(k, topic)) if (isType(e) && 'session_id' in e && e.session_id === sessionId) es.push(e);
    if (done(es)) return es;
    if (Date.now() > deadline) throw new Error(`timed out waiting on ${type} in ${topic}: ${es.length} seen`);
    await new Promise((r) => setTimeout(r, 300));
  }
}
