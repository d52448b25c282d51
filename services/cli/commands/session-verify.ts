// solvermesh session verify <id>: a VerificationRequested on solver.commands, then the verdict
// as the log gives it: each verifier group's VerificationCompleted on the solution the solver
// published for the request, and the consensus on its iteration. Exit 0 when the consensus
// VERIFIED it, and VERIFY_EXIT's other codes (with a message) when it did not or nothing answered.
import { randomUUID } from 'node:crypto';
import type { SessionOpened, VerificationRequested } from '../../../schemas/generated/events';
import { SOLVER_PARTITIONS } from '../../../topics/catalog';
import { EventCodec } from '../../runtime/codec';
import { loadConfig } from '../../runtime/config';
import { derivedEventId } from '../../runtime/ids';
import { endOffsets, readLog } from '../../runtime/kafka/log-reader';
import { endsSession } from '../../solver/events';
import { DEFAULT_PROBES } from '../../verifier/probes';
import { checkSessionId } from '../cost-input';
import { EventSender, problemsOf } from '../event-sender';
import { CliExit } from '../exit';
import { foldVerify, isVerifyEvent, newVerifyState, settled, verdictOf } from '../session-verify';
import { requireTopics } from '../topic-check';

export interface VerifyFlags {
  probes?: string;
  timeout: string;
  json?: boolean;
}

const err = (line: string) => process.stderr.write(`${line}\n`);

function positive(raw: string, flag: string, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${flag} must be an integer from 1 to ${max} (got '${raw}')`);
  return n;
}

export async function verifyCommand(id: string, flags: VerifyFlags): Promise<void> {
  const sid = checkSessionId(id, 'the session id');
  const probes = positive(flags.probes ?? String(DEFAULT_PROBES.count), '--probes', 100_000);
  const timeoutS = Number(flags.timeout);
  if (!(timeoutS > 0) || !Number.isFinite(timeoutS)) throw new Error(`--timeout must be a positive number of seconds (got '${flags.timeout}')`);
  const config = loadConfig();
  const prefix = config.topicPrefix;
  const codec = new EventCodec(config.schemaRegistryUrl);
  await requireTopics(config.kafkaBrokers, ['solver.sessions', 'solver.commands', 'solver.solutions', 'solver.verifications'].map((t) => prefix + t));

  // The session as solver.sessions has it: a request for an unknown or ended one would go unanswered.
  const parts = [...Array(SOLVER_PARTITIONS).keys()];
  let opened: SessionOpened | undefined;
  let ended: string | undefined;
  await readLog(config.kafkaBrokers, codec, parts.map((p) => ({ topic: prefix + 'solver.sessions', partition: p, from: 0 })), {
    decode: false,
    onRecord: async (r) => {
      if (r.key !== sid) return;
      const e = (await codec.decode(r.value).catch(() => undefined))?.event;
      if (e?.type === 'SessionOpened') opened ??= e;
      if (e && endsSession(e) && (e.type === 'SessionRejected' || e.type === 'SessionClosed')) ended = `${e.type === 'SessionRejected' ? 'rejected' : 'closed'} (${e.reason})`;
    },
  });
  if (!opened) throw new Error(`session ${sid} is not in ${prefix}solver.sessions`);
  if (ended) throw new Error(`session ${sid} was ${ended}: the solver publishes no solution for it any more`);

  // The solution answers after the request: solver.solutions from its end now. The consensus on
  // its iteration may be older (a round on that solution decided already): verifications from 0.
  const solutionsFrom = await endOffsets(config.kafkaBrokers, prefix + 'solver.solutions', SOLVER_PARTITIONS);
  const now = Date.now() * 1000;
  const request: VerificationRequested = {
    type: 'VerificationRequested',
    meta: { event_id: derivedEventId(sid, `verify:${randomUUID()}`), correlation_id: sid, causation_id: null, occurred_at: now, producer: 'cli', sequence: null },
    session_id: sid, requested_by: 'cli', probe_count: probes, probe_size: Math.min(DEFAULT_PROBES.size, opened.rows), seed: now % 2_147_483_647,
  };
  const problems = problemsOf(request);
  if (problems.length > 0) throw new Error(`the solver would refuse this request: ${problems.slice(0, 3).join('; ')}`);
  const sender = await EventSender.connect(config);
  try {
    await sender.send('solver.commands', [request]);
  } finally {
    await sender.close();
  }
  err(`session ${sid}: VerificationRequested ${request.meta.event_id} (${probes} probes of ${request.probe_size} rows) sent to solver.commands; waiting up to ${timeoutS} s for the verdict`);

  const state = newVerifyState(request.meta.event_id);
  const deadline = Date.now() + timeoutS * 1000;
  const ranges = [
    ...parts.map((p) => ({ topic: prefix + 'solver.solutions', partition: p, from: solutionsFrom[p] ?? 0 })),
    ...parts.map((p) => ({ topic: prefix + 'solver.verifications', partition: p, from: 0 })),
  ];
  await readLog(config.kafkaBrokers, codec, ranges, {
    decode: false,
    // The reader's own timeout only guards against a hung broker; the wait is ours.
    timeoutMs: timeoutS * 1000 + 60_000,
    until: () => settled(state) || Date.now() > deadline,
    onRecord: async (r) => {
      if (r.key !== sid) return;
      const e = (await codec.decode(r.value).catch(() => undefined))?.event;
      if (e && isVerifyEvent(e) && e.session_id === sid) foldVerify(state, e);
    },
  });
  const v = verdictOf(state, sid, !settled(state));
  if (flags.json) {
    const s = state.solution;
    const c = s ? state.consensus.get(s.iteration) : undefined;
    const strip = <T extends { meta: unknown }>(x: T) => { const { meta, ...rest } = x; void meta; return rest; };
    process.stdout.write(`${JSON.stringify({
      session_id: sid, request_id: request.meta.event_id, exit_code: v.code, message: v.message, iteration: s?.iteration ?? null,
      verifications: s ? (state.results.get(s.chunkId) ?? []).map(strip) : [], consensus: c ? strip(c) : null,
    })}\n`);
  } else {
    for (const line of v.lines) process.stdout.write(`${line}\n`);
  }
  if (v.code !== 0) throw new CliExit(v.code, v.message);
  err(v.message);
}
