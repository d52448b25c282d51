// solvermesh estimate --session <id> --index <i>: asks the solver for x_i without a full solve.
// The request is an event (EntryEstimateRequested on solver.commands, sequenced by the solver
// among the session's cost updates); the answer is the EntryEstimated it causes on
// solver.iterations, printed beside x_i of the session's latest solution. A request the solver
// refuses comes back from a dead-letter topic with its reason. Exit 0 with an estimate, 1 otherwise.
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import type { EntryEstimated, EntryEstimateRequested, EstimateMethod, IterationCompleted, SessionOpened, SolutionPublished } from '../../../schemas/generated/events';
import { SOLVER_PARTITIONS } from '../../../topics/catalog';
import { EventCodec } from '../../runtime/codec';
import { loadConfig } from '../../runtime/config';
import { errorMessage } from '../../runtime/errors';
import { endOffsets, readLog, type LogRange } from '../../runtime/kafka/log-reader';
import { endsSession } from '../../solver/events';
import { sequencedId } from '../../solver/outputs';
import { checkSessionId } from '../cost-input';
import { estimateReport, referenceValue } from '../estimate-report';
import { EventSender, problemsOf } from '../event-sender';
import { recordTyper } from '../../runtime/record-type';
import { requireTopics } from '../topic-check';

interface EstimateFlags {
  session: string;
  index: string;
  eps: string;
  method: string;
  walks: string;
  delta: string;
  seed: string;
  timeout: string;
  json?: boolean;
}

const METHOD: Record<string, EstimateMethod> = { push: 'LOCAL_PUSH', walk: 'RANDOM_WALK_NEUMANN' };
const ALL = [...Array(SOLVER_PARTITIONS).keys()];

function intIn(raw: string, flag: string, min: number, max: number): number {
  const v = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(v) || v < min || v > max) throw new Error(`${flag} must be an integer in [${min}, ${max}] (got '${raw}')`);
  return v;
}

function positive(raw: string, flag: string, max = Number.MAX_VALUE): number {
  const v = Number(raw);
  if (!(v > 0) || !Number.isFinite(v) || v > max) throw new Error(`${flag} must be a positive number${max < Number.MAX_VALUE ? ` up to ${max}` : ''} (got '${raw}')`);
  return v;
}

/** The flags as the request they ask for; a bad flag sends nothing. */
export function requestOf(flags: EstimateFlags, sessionId: string, at: number): EntryEstimateRequested {
  const method = METHOD[flags.method.toLowerCase()];
  if (!method) throw new Error(`--method must be push or walk (got '${flags.method}')`);
  const e: EntryEstimateRequested = {
    type: 'EntryEstimateRequested',
    meta: { event_id: randomUUID(), correlation_id: sessionId, causation_id: null, occurred_at: at, producer: 'cli', sequence: null },
    session_id: sessionId, requested_by: 'cli', index: intIn(flags.index, '--index', 0, 2_147_483_647),
    eps: positive(flags.eps, '--eps'), method, walks: intIn(flags.walks, '--walks', 1, 1_000_000),
    delta: positive(flags.delta, '--delta', 0.5), seed: intIn(flags.seed, '--seed', 0, 0xffffffff),
  };
  const problems = problemsOf(e);
  if (problems.length > 0) throw new Error(`the solver would refuse this request: ${problems.slice(0, 3).join('; ')}`);
  return e;
}

interface SessionFacts { opened?: SessionOpened; ended?: string }

async function sessionFacts(brokers: readonly string[], codec: EventCodec, prefix: string, sid: string): Promise<SessionFacts> {
  const typeOf = recordTyper(codec);
  const facts: SessionFacts = {};
  await readLog(brokers, codec, ALL.map((p) => ({ topic: `${prefix}solver.sessions`, partition: p, from: 0 })), {
    decode: false,
    onRecord: async (r) => {
      if (r.key !== sid) return;
      const type = await typeOf(r.value);
      if (type !== 'SessionOpened' && type !== 'SessionClosed' && type !== 'SessionRejected') return; // chunks: not decoded
      const { event } = await codec.decode(r.value);
      if (event.type === 'SessionOpened') facts.opened ??= event;
      if (event.type === 'SessionClosed') facts.ended = `closed (${event.message ?? event.reason})`;
      if (event.type === 'SessionRejected' && endsSession(event)) facts.ended = `rejected (${event.message})`;
    },
  });
  return facts;
}

/** The session's solutions and iterations, for the reference x_i. */
async function sessionOutputs(brokers: readonly string[], codec: EventCodec, prefix: string, sid: string) {
  const solutions: SolutionPublished[] = [];
  const iterations: IterationCompleted[] = [];
  const ranges = ['solver.solutions', 'solver.iterations'].flatMap((t) => ALL.map((p) => ({ topic: prefix + t, partition: p, from: 0 })));
  await readLog(brokers, codec, ranges, {
    decode: false,
    onRecord: async (r) => {
      if (r.key !== sid) return;
      const { event } = await codec.decode(r.value);
      if (event.type === 'SolutionPublished') solutions.push(event);
      if (event.type === 'IterationCompleted') iterations.push(event);
    },
  });
  return { solutions, iterations };
}

type Outcome = { kind: 'answer'; event: EntryEstimated } | { kind: 'dead'; topic: string; reason: string };

async function estimateCommand(flags: EstimateFlags): Promise<void> {
  const sid = checkSessionId(flags.session);
  const request = requestOf(flags, sid, Date.now() * 1000);
  const timeoutMs = positive(flags.timeout, '--timeout') * 1000;
  const config = loadConfig();
  const prefix = config.topicPrefix;
  const brokers = config.kafkaBrokers;
  const codec = new EventCodec(config.schemaRegistryUrl);
  const dlqs = ['solver.commands.dlq', 'solver.costs.dlq'];
  await requireTopics(brokers, ['solver.sessions', 'solver.commands', 'solver.iterations', 'solver.solutions', ...dlqs].map((t) => prefix + t));

  // Refused here, before anything is sent, when the log already says the solver would refuse it.
  const facts = await sessionFacts(brokers, codec, prefix, sid);
  if (!facts.opened) throw new Error(`session ${sid} is unknown: no SessionOpened in ${prefix}solver.sessions`);
  if (facts.ended) throw new Error(`session ${sid} is ${facts.ended}: nothing to estimate`);
  if (request.index >= facts.opened.rows) throw new Error(`--index ${request.index} is out of range: session ${sid} has ${facts.opened.rows} unknowns (0..${facts.opened.rows - 1})`);

  // The answer or the dead letter can only come after the request: follow from today's ends.
  const from = async (topic: string, partitions: number): Promise<LogRange[]> =>
    (await endOffsets(brokers, prefix + topic, partitions)).map((end, p) => ({ topic: prefix + topic, partition: p, from: end }));
  const ranges = [...await from('solver.iterations', SOLVER_PARTITIONS), ...(await Promise.all(dlqs.map((t) => from(t, 1)))).flat()];

  const sender = await EventSender.connect(config);
  try {
    await sender.send('solver.commands', [request]);
  } finally {
    await sender.close();
  }
  const id = request.meta.event_id;
  let outcome: Outcome | undefined;
  try {
    await readLog(brokers, codec, ranges, {
      timeoutMs,
      until: () => outcome !== undefined,
      onRecord: (r) => {
        const e = r.event;
        if (!e || outcome) return;
        if (r.topic.endsWith('.dlq')) {
          // The request itself, or the copy the solver sequenced onto solver.costs.
          if (e.meta.event_id === id || e.meta.causation_id === id) outcome = { kind: 'dead', topic: r.topic.slice(prefix.length), reason: r.headers['dlq.error.message'] ?? '(no reason given)' };
          return;
        }
        // Caused by the copy the solver sequenced onto solver.costs.
        if (e.type === 'EntryEstimated' && e.meta.causation_id === sequencedId(id)) outcome = { kind: 'answer', event: e };
      },
    });
  } catch (err) {
    if (outcome) throw err;
    throw new Error(`no answer to EntryEstimateRequested ${id} within ${flags.timeout} s (is the solver running? 'solvermesh run solver'): ${errorMessage(err)}`);
  }
  if (!outcome) throw new Error(`no answer to EntryEstimateRequested ${id}`);
  if (outcome.kind === 'dead') throw new Error(`the solver refused the request (dead-lettered to ${outcome.topic}): ${outcome.reason}`);
  const answer = outcome.event;
  if (answer.refusal !== null) throw new Error(`the solver refused to estimate x_${answer.index} of session ${sid}: ${answer.refusal}`);

  const { solutions, iterations } = await sessionOutputs(brokers, codec, prefix, sid);
  const ref = referenceValue(answer.index, solutions, iterations);
  const report = estimateReport(answer, ref);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({
      session_id: sid, index: answer.index, n: answer.n, estimate: answer.estimate, error_bound: answer.error_bound, confidence: answer.confidence,
      method: answer.method, work: answer.work, applied_through: answer.applied_through,
      solution: ref ? { value: ref.value, iteration: ref.iteration, from: ref.from, abs_diff: Math.abs(answer.estimate - ref.value), within_bound: report.withinBound } : null,
    })}\n`);
    return;
  }
  for (const line of report.lines) process.stdout.write(`${line}\n`);
}

export function register(program: Command): void {
  program
    .command('estimate')
    .description("ask the solver for one component x_i of a session by a sublinear estimate (EntryEstimateRequested -> EntryEstimated), printed beside the latest solution's x_i")
    .requiredOption('--session <id>', 'session id')
    .requiredOption('--index <i>', 'component i, 0-based')
    .option('--eps <e>', 'target bound on |estimate - x_i|', '1e-6')
    .option('--method <m>', 'push (deterministic local push) or walk (seeded random-walk Neumann sampling)', 'push')
    .option('--walks <w>', 'walk: number of walks', '1000')
    .option('--delta <d>', 'walk: the bound fails with probability at most delta', '0.001')
    .option('--seed <s>', 'walk: PRNG seed (so the estimate replays exactly)', '1')
    .option('--timeout <s>', 'seconds to wait for the answer', '60')
    .option('--json', 'print one JSON object')
    .action(estimateCommand);
}
