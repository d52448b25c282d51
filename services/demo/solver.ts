// `make demo`, solver part (seed 000): the solver service as its own process, a session for a 2D
// Poisson system of ~100,000 unknowns, then bursts of cost updates; prints the residual as it
// falls and re-converges after each burst, and a summary at the end.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { kafkajsConfig } from '../runtime/credentials';
import pino from 'pino';
import type { ConvergenceReached, IterationCompleted } from '../../schemas/generated/events';
import { projectRoot } from '../../schemas/project-root';
import { poisson2d, smoothRhs } from '../../wasm/src/problems';
import { EventCodec } from '../runtime/codec';
import type { SolverInput } from '../cli/event-sender';
import { loadConfig } from '../runtime/config';
import { createEngine } from '../runtime/engine';
import { costStream, openSession } from '../solver/events';
import { say } from './conflicts';
import { startService } from './service-process';

const GRID = 316; // 316 x 316 = 99,856 unknowns
const BURSTS = 5;
const BURST = 200;
const TOL = 1e-8;

const costsThrough = (e: IterationCompleted | ConvergenceReached) => e.applied_through.find((p) => p.topic.endsWith('solver.costs'))?.offset ?? -1;

export async function runSolverDemo(): Promise<void> {
  const config = loadConfig();
  const codec = new EventCodec(config.schemaRegistryUrl);
  const topic = (t: string) => config.topicPrefix + t;
  const producer = await createEngine(config, pino({ level: 'silent' })).producer();
  const send = async (t: string, events: readonly SolverInput[]) => {
    for (let i = 0; i < events.length; i += 500) {
      const slice = events.slice(i, i + 500);
      await producer.send(await Promise.all(slice.map(async (e) => ({ topic: topic(t), key: e.session_id, value: await codec.encode(topic(t), e) }))));
    }
  };

  say('== starting the solver service (solvermesh run solver)');
  const service = startService('solver', { LOG_LEVEL: 'warn' });

  const sid = randomUUID();
  const a = poisson2d(GRID);
  const seen: IterationCompleted[] = [];
  const converged: ConvergenceReached[] = [];
  const kafka = new Kafka(kafkajsConfig({ clientId: 'solvermesh-demo', brokers: config.kafkaBrokers, logLevel: logLevel.NOTHING }));
  const consumer = kafka.consumer({ groupId: `solvermesh-demo-solver-${sid}`, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic: topic('solver.iterations'), fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.key?.toString() !== sid) return;
      const { event } = await codec.decode(message.value);
      if (event.type === 'ConvergenceReached') {
        const c = event;
        converged.push(c);
        say(`  converged at ${c.iteration}: residual ${c.residual_norm.toExponential(2)} under ${c.tolerance} for ${c.iterations_below_threshold} iterations in a row`);
        return;
      }
      if (event.type !== 'IterationCompleted') return;
      const it = event;
      seen.push(it);
      say(`  iteration ${String(it.iteration).padStart(5)}  ${it.method.padEnd(9)} residual ${it.residual_norm.toExponential(2)}  costs through offset ${costsThrough(it)}`);
    },
  });
  const waitFor = async (what: string, done: () => boolean, timeoutMs = 180_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`solver demo: timed out waiting for ${what}\n${service.log().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  try {
    say(`== opening session ${sid}: 2D Poisson, ${a.n} unknowns, ${a.values.length} non-zeros, CG, tolerance ${TOL}`);
    // Dated now: the partition may hold sessions of earlier runs (part 3's is dated now), and a
    // session dated long before its partition's event time is closed as idle at once.
    const atUs = Date.now() * 1000;
    await send('solver.sessions', openSession(sid, a, smoothRhs(a.n), { method: 'CG', tolerance: TOL, verificationInterval: 25, producer: 'demo', occurredAt: atUs }));
    await waitFor('the first convergence', () => converged.length > 0);

    const stream = costStream(sid, a.n, BURSTS * BURST, BURST, 7, 0, atUs);
    let through = -1;
    for (let burst = 0; burst < BURSTS; burst++) {
      say(`== burst ${burst + 1}/${BURSTS}: ${BURST} cost updates on b`);
      await send('solver.costs', stream.slice(burst * BURST, (burst + 1) * BURST));
      const before = through;
      await waitFor(`re-convergence after burst ${burst + 1}`, () => converged.some((e) => costsThrough(e) > before));
      through = Math.max(...converged.map(costsThrough));
    }
    const last = seen.at(-1)!;
    say(`== summary: session ${sid}, ${BURSTS * BURST} updates applied, ${last.iteration} iterations, final residual ${last.residual_norm.toExponential(2)} (true ||b-Ax||/||b||)`);
  } finally {
    await consumer.disconnect();
    await producer.close();
  }
  const code = await service.stop();
  say(`== solver drained and exited with code ${code}`);
  if (code !== 0) throw new Error(`solver exited with ${code}\n${service.log().slice(-3000)}`);

  // An engineer debugging this session would replay it: every IterationCompleted recomputed
  // from the log by a reader that commits and produces nothing, compared bit for bit.
  say(`== solvermesh replay --session ${sid}`);
  const replay = spawn(join(projectRoot(), 'bin', 'solvermesh'), ['replay', '--session', sid], { env: process.env, stdio: ['ignore', 'inherit', 'inherit'] });
  const replayCode = await new Promise<number | null>((r) => replay.on('exit', (c) => r(c)));
  if (replayCode !== 0) throw new Error(`replay of the demo session exited with ${replayCode}`);
}
