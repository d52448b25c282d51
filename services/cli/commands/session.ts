// solvermesh session open | watch: open a solve session from Matrix Market files (SessionOpened
// and its row-block chunks on solver.sessions, as the solver service folds them), and follow
// one session's iterations live. Ids and results go to stdout, progress to stderr.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Kafka, logLevel } from 'kafkajs';
import { kafkajsConfig } from '../../runtime/credentials';
import type { ConvergenceReached, Preconditioner, SolverMethod, SolvermeshEvent } from '../../../schemas/generated/events';
import { METHODS, multiply } from '../../../wasm/index';
import { SOLVER_PARTITIONS } from '../../../topics/catalog';
import { EventCodec } from '../../runtime/codec';
import { loadConfig } from '../../runtime/config';
import { errorMessage } from '../../runtime/errors';
import { readLog } from '../../runtime/kafka/log-reader';
import { openSession } from '../../solver/events';
import { matrixMarketToCsr, matrixMarketToVector, parseMatrixMarket } from '../../solver/matrix-market';
import { checkSessionId } from '../cost-input';
import { EventSender, problemsOf } from '../event-sender';
import { recordTyper } from '../../runtime/record-type';
import { requireTopics } from '../topic-check';
import { costsToCover, coversCosts, deadLetterLine, deadLetterOf, isWatched, watchJson, watchStep } from '../session-watch';
import { verifyCommand } from './session-verify';

const WIRE_METHOD: Record<string, SolverMethod> = {
  jacobi: 'JACOBI', gauss_seidel: 'GAUSS_SEIDEL', cg: 'CG', bicgstab: 'BICGSTAB', neumann: 'NEUMANN', hybrid: 'HYBRID',
};
// The preconditioners a session can ask for on the wire (SolverOptions.preconditioner).
const WIRE_PRECOND: Record<string, Preconditioner> = { none: 'NONE', jacobi: 'JACOBI', ilu0: 'ILU', ilu: 'ILU' };

interface OpenFlags {
  matrix: string;
  rhs?: string;
  method: string;
  tol: string;
  maxIters: string;
  precond: string;
  verificationInterval: string;
  session?: string;
}

interface WatchFlags {
  untilConverged?: boolean;
  timeout?: string;
  json?: boolean;
}

const err = (line: string) => process.stderr.write(`${line}\n`);

function readMm(path: string, what: string) {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${what} '${path}': ${errorMessage(e)}`);
  }
  try {
    return parseMatrixMarket(text);
  } catch (e) {
    throw new Error(`${what} '${path}': ${errorMessage(e)}`);
  }
}

function positiveInt(raw: string, flag: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 2_147_483_647) throw new Error(`${flag} must be a positive integer (got '${raw}')`);
  return n;
}

/** Everything checked before anything is sent: a bad flag or file sends nothing. */
function prepareOpen(flags: OpenFlags) {
  const method = WIRE_METHOD[flags.method.toLowerCase()];
  if (!method) throw new Error(`--method must be one of ${METHODS.join(', ')} (got '${flags.method}')`);
  const precond = WIRE_PRECOND[flags.precond.toLowerCase()];
  if (!precond) throw new Error(`--precond must be one of none, jacobi, ilu0 (got '${flags.precond}')`);
  const tol = Number(flags.tol);
  if (!(tol > 0) || !Number.isFinite(tol)) throw new Error(`--tol must be a positive number (got '${flags.tol}')`);
  const maxIterations = positiveInt(flags.maxIters, '--max-iters');
  const verificationInterval = positiveInt(flags.verificationInterval, '--verification-interval');
  const sessionId = flags.session === undefined ? randomUUID() : checkSessionId(flags.session);

  const mm = readMm(flags.matrix, 'matrix');
  let a;
  try {
    a = matrixMarketToCsr(mm);
  } catch (e) {
    throw new Error(`matrix '${flags.matrix}': ${errorMessage(e)}`);
  }
  let b: Float64Array;
  if (flags.rhs !== undefined) {
    const rhs = readMm(flags.rhs, 'rhs');
    try {
      b = matrixMarketToVector(rhs);
    } catch (e) {
      throw new Error(`rhs '${flags.rhs}': ${errorMessage(e)}`);
    }
    if (b.length !== a.n) throw new Error(`rhs '${flags.rhs}' has ${b.length} entries but the matrix has ${a.n} rows`);
  } else {
    b = multiply(a, new Float64Array(a.n).fill(1));
  }
  const events = openSession(sessionId, a, b, {
    method, tolerance: tol, maxIterations, verificationInterval, occurredAt: Date.now() * 1000, producer: 'cli',
  });
  const opened = events[0]!;
  if (opened.type === 'SessionOpened') opened.options.preconditioner = precond;
  for (const e of events) {
    const problems = problemsOf(e);
    if (problems.length > 0) throw new Error(`the solver would refuse ${e.type}: ${problems.slice(0, 3).join('; ')}`);
  }
  return { sessionId, a, events, method, tol, rhs: flags.rhs ?? 'b = A·1 (no --rhs given)' };
}

async function openCommand(flags: OpenFlags): Promise<void> {
  const p = prepareOpen(flags);
  const t0 = performance.now();
  const sender = await EventSender.connect(loadConfig());
  try {
    await sender.send('solver.sessions', p.events);
  } finally {
    await sender.close();
  }
  err(`session ${p.sessionId}: ${p.a.n} unknowns, ${p.a.values.length} non-zeros in ${p.events.length - 1} chunk(s), ${p.method}, tol ${p.tol}, ${p.rhs}; sent to solver.sessions in ${Math.round(performance.now() - t0)} ms`);
  process.stdout.write(`${p.sessionId}\n`);
}

async function watchCommand(id: string, flags: WatchFlags): Promise<void> {
  const sid = checkSessionId(id, 'the session id');
  const timeoutMs = flags.timeout === undefined ? undefined : Number(flags.timeout) * 1000;
  if (timeoutMs !== undefined && !(timeoutMs > 0)) throw new Error(`--timeout must be a positive number of seconds (got '${flags.timeout}')`);
  const config = loadConfig();
  const prefix = config.topicPrefix;
  const codec = new EventCodec(config.schemaRegistryUrl);

  // What the log holds for this session now: whether it exists, and its latest cost update
  // per partition (--until-converged waits for a convergence that has folded those in).
  await requireTopics(config.kafkaBrokers, ['solver.sessions', 'solver.costs', 'solver.iterations', 'solver.verifications', 'mesh.conflicts', 'solver.sessions.dlq', 'solver.costs.dlq'].map((t) => prefix + t));
  const costOffsets = new Map<number, number[]>();
  const deadCosts = new Set<string>();
  let known = false;
  const parts = [...Array(SOLVER_PARTITIONS).keys()];
  const typeOf = recordTyper(codec);
  const whole = (topic: string) => parts.map((p) => ({ topic: prefix + topic, partition: p, from: 0 }));
  // Runs while the consumer joins; events wait for it (their exits depend on it).
  let costsThrough = new Map<number, number>();
  const scanned = Promise.all([
    readLog(config.kafkaBrokers, codec, whole('solver.sessions'), { decode: false, onRecord: (r) => { if (r.key === sid) known = true; } }),
    // solver.costs also carries the commands and closes the solver sequenced there.
    readLog(config.kafkaBrokers, codec, whole('solver.costs'), {
      decode: false,
      onRecord: async (r) => {
        if (r.key !== sid || await typeOf(r.value) !== 'CostUpdated') return;
        const list = costOffsets.get(r.partition) ?? [];
        list.push(r.offset);
        costOffsets.set(r.partition, list);
      },
    }),
  ]).then(() => {
    costsThrough = costsToCover(costOffsets, deadCosts);
    if (!known) err(`session ${sid}: nothing in ${prefix}solver.sessions yet; waiting for it`);
  });
  scanned.catch(() => undefined); // awaited below; a failure surfaces there

  const kafka = new Kafka(kafkajsConfig({ clientId: 'solvermesh-watch', brokers: config.kafkaBrokers, logLevel: logLevel.NOTHING }));
  // Short fetch waits: a live follow, and a quick leave at exit.
  const consumer = kafka.consumer({ groupId: `solvermesh-watch-${randomBytes(4).toString('hex')}`, readUncommitted: false, maxWaitTimeInMs: 250 });
  let outcome: { code: 0 | 1; message: string } | undefined;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const end = (o: { code: 0 | 1; message: string }) => { outcome ??= o; finish(); };
  // Conflicts and dead letters travel on other topics than the iterations: before a decided
  // exit, the watch reads those topics to their ends as of the decision, so what happened
  // before the convergence or rejection is printed too.
  const aux = ['mesh.conflicts', 'solver.sessions.dlq', 'solver.costs.dlq'].map((t) => prefix + t);
  const consumedNext = new Map<string, number>();
  let settling = false;
  const settleThen = async (o: { code: 0 | 1; message: string }) => {
    if (settling || outcome) return;
    settling = true;
    try {
      const admin = kafka.admin();
      await admin.connect();
      const ends = (await Promise.all(aux.map(async (t) => (await admin.fetchTopicOffsets(t)).map((e) => ({ key: `${t}/${e.partition}`, high: Number(e.high), low: Number(e.low) }))))).flat();
      await admin.disconnect();
      // A transactional partition ends with a commit marker the consumer never sees: one short is the end.
      const caughtUp = () => ends.every((e) => e.high <= e.low || (consumedNext.get(e.key) ?? e.low) >= e.high - 1);
      const deadline = Date.now() + 5000;
      while (!caughtUp() && Date.now() < deadline && !outcome) await new Promise((r) => setTimeout(r, 50));
    } catch {
      // Without the ends the decision stands; only the completeness of the printout suffers.
    } finally {
      end(o);
    }
  };
  let lastLine = '';
  let converged: ConvergenceReached | undefined;
  await consumer.connect();
  try {
    await consumer.subscribe({
      topics: [`${prefix}solver.iterations`, `${prefix}solver.sessions`, `${prefix}solver.verifications`, `${prefix}mesh.conflicts`, `${prefix}solver.sessions.dlq`, `${prefix}solver.costs.dlq`],
      fromBeginning: true,
    });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        await scanned;
        if (outcome) return;
        consumedNext.set(`${topic}/${partition}`, Number(message.offset) + 1);
        // Once an exit is decided only the other topics' earlier facts are still printed.
        if (settling && !aux.includes(topic)) return;
        if (topic.endsWith('.dlq')) {
          // The session's inputs the solver refused: say so, and stop waiting for those updates.
          if (message.key?.toString() !== sid) return;
          const dead = deadLetterOf(Object.fromEntries(Object.entries(message.headers ?? {}).map(([h, v]) => [h, String(v)])), prefix);
          if (!dead) return;
          if (flags.json) process.stdout.write(`${JSON.stringify({ topic: topic.slice(prefix.length), partition, offset: message.offset, type: 'DeadLetter', source: dead.source, error_class: dead.errorClass, error_message: dead.errorMessage })}\n`);
          else process.stdout.write(`${deadLetterLine(dead)}\n`);
          if (dead.source.topic === 'solver.costs') {
            deadCosts.add(`${dead.source.partition}@${dead.source.offset}`);
            costsThrough = costsToCover(costOffsets, deadCosts);
            // The convergence already seen may be the one that covers what is left.
            if (flags.untilConverged && converged && coversCosts(converged.applied_through, costsThrough, prefix)) {
              void settleThen({ code: 0, message: `session ${sid} converged at iteration ${converged.iteration} (its later updates were dead-lettered)` });
            }
          }
          return;
        }
        const conflicts = topic.endsWith('mesh.conflicts');
        // Solver topics are keyed by session id: skip other sessions (and their chunks) undecoded.
        if (!conflicts && message.key?.toString() !== sid) return;
        let event: SolvermeshEvent;
        try {
          event = (await codec.decode(message.value)).event;
        } catch {
          return; // the service dead-letters undecodable input; the watch only reports the session's events
        }
        if (!isWatched(event)) return;
        if (event.type === 'ConflictReported' && event.cluster_id !== sid) return;
        const step = watchStep(event, { untilConverged: Boolean(flags.untilConverged), costsThrough }, prefix);
        if (flags.json) process.stdout.write(`${JSON.stringify(watchJson(event, { topic: topic.slice(prefix.length), partition, offset: message.offset }))}\n`);
        else if (step.line) process.stdout.write(`${step.line}\n`);
        if (event.type === 'IterationCompleted') { lastLine = step.line ?? lastLine; converged = undefined; }
        if (event.type === 'ConvergenceReached') converged = event;
        if (step.exit) void settleThen(step.exit);
      },
    });
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => end(flags.untilConverged
      ? { code: 1, message: `session ${sid} did not converge on every update within ${flags.timeout} s${lastLine ? ` (last: ${lastLine})` : ' (no iteration seen)'}` }
      : { code: 0, message: `watched session ${sid} for ${flags.timeout} s` }), timeoutMs);
    await scanned;
    const stop = () => end({ code: 0, message: 'interrupted' });
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await finished;
    if (timer) clearTimeout(timer);
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  if (outcome && outcome.code !== 0) throw new Error(outcome.message);
  if (outcome) err(outcome.message);
}

export function register(program: Command): void {
  const session = program.command('session').description('open a solver session, follow it, verify it');
  session
    .command('open')
    .description('open a solve session from Matrix Market files (SessionOpened + row-block chunks on solver.sessions); prints its id')
    .requiredOption('--matrix <file>', 'A, a square Matrix Market coordinate (or array) file')
    .option('--rhs <file>', 'b, a Matrix Market n×1 vector (default: b = A·1)')
    .requiredOption('--method <m>', `one of ${METHODS.join(', ')}`)
    .option('--tol <t>', 'relative tolerance on ||b - Ax|| / ||b||', '1e-8')
    .option('--max-iters <k>', 'iteration cap of the session', '10000')
    .option('--precond <p>', 'for cg/bicgstab: none, jacobi or ilu0', 'jacobi')
    .option('--verification-interval <k>', 'iterations between IterationCompleted events', '100')
    .option('--session <id>', 'the session id (a uuid; default: a new random one)')
    .action(openCommand);
  session
    .command('watch')
    .description("follow a session's iterations live (read_committed, from its first event): one line per IterationCompleted, each verifier group's check and the consensus, and its convergence, conflicts, rejection or close")
    .argument('<id>', 'session id')
    .option('--until-converged', 'exit 0 at a ConvergenceReached that has folded in every cost update in the log when the watch began; 1 on rejection, close or timeout')
    .option('--timeout <s>', 'stop after this many seconds (an error with --until-converged)')
    .option('--json', 'one JSON object per event (NDJSON)')
    .action(watchCommand);
  session
    .command('verify')
    .description('ask the verifier groups to check the session now (VerificationRequested) and print each group\'s result and the consensus; exit 0 verified, 1 rejected, 2 no consensus, 3 no answer in time')
    .argument('<id>', 'session id')
    .option('--probes <k>', 'random probes of min(100, n) rows each (seed 000 §5.1)', '10')
    .option('--timeout <s>', 'how long to wait for the verdict', '60')
    .option('--json', 'the verdict as one JSON object on stdout')
    .action(verifyCommand);
}
