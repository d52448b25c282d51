// solvermesh produce cost: cost deltas for a running session, one from the command line or many
// from NDJSON on stdin (the shape is in ../cost-input.ts). Lines go out in order, in batches,
// each acknowledged before the next; the first bad line stops the run: every line before it is
// sent, nothing from it on, and the message says so.
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { CostUpdated } from '../../../schemas/generated/events';
import { loadConfig } from '../../runtime/config';
import { errorMessage } from '../../runtime/errors';
import { costUpdated, type CostSpec } from '../../solver/events';
import { checkSessionId, costFromFlags, costFromJson } from '../cost-input';
import { EventSender, problemsOf } from '../event-sender';

interface CostFlags {
  session: string;
  b: string[];
  a: string[];
  flush?: boolean;
  stdin?: boolean;
  source: string;
  batch: string;
}

const collect = (v: string, all: string[]) => [...all, v];
const err = (line: string) => process.stderr.write(`${line}\n`);

/** Builds the event of one update and checks it as the solver's decode-time validation would. */
function eventFor(sid: string, run: string, seq: number, spec: CostSpec, source: string): CostUpdated {
  const e = costUpdated(sid, `${run}:${seq}`, { ...spec, occurredAt: Date.now() * 1000, source });
  const problems = problemsOf(e);
  if (problems.length > 0) throw new Error(problems.slice(0, 3).join('; '));
  return e;
}

const span = (first: number, last: number) => (first === last ? `line ${first}` : `lines ${first}-${last}`);

async function fromStdin(sid: string, run: string, flags: CostFlags, sender: EventSender): Promise<{ updates: number; lines: number; lastFlush: boolean }> {
  const batchSize = Number(flags.batch);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`--batch must be a positive integer (got '${flags.batch}')`);
  const t0 = performance.now();
  let lineNo = 0;
  let pending: { events: CostUpdated[]; first: number; last: number } | undefined;
  // Acknowledged so far: what a failure report can promise was sent.
  let acked = 0;
  let ackedThrough = 0;
  let lastFlush = true;
  let sending: Promise<void> = Promise.resolve();
  let sendError: { error: unknown; first: number; last: number } | undefined;
  let lastProgress = t0;
  let timer: NodeJS.Timeout | undefined;
  let batches = 0;

  const flush = () => {
    if (timer) { clearTimeout(timer); timer = undefined; }
    const batch = pending;
    pending = undefined;
    if (!batch) return;
    sending = sending.then(async () => {
      if (sendError) return;
      try {
        await sender.send('solver.costs', batch.events);
      } catch (error) {
        sendError = { error, first: batch.first, last: batch.last };
        return;
      }
      acked += batch.events.length;
      ackedThrough = batch.last;
      const now = performance.now();
      if (now - lastProgress >= 2000) {
        lastProgress = now;
        err(`produce: ${acked} updates acknowledged (through stdin line ${ackedThrough}), ${Math.round(acked / ((now - t0) / 1000))}/s`);
      }
    });
  };
  const sentSoFar = () => (acked === 0 ? 'nothing was sent' : `sent ${acked} update(s) (through stdin line ${ackedThrough})`);

  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let bad: { line: number; message: string } | undefined;
  for await (const text of rl) {
    lineNo++;
    if (sendError) break;
    if (text.trim() === '') continue;
    let event: CostUpdated;
    try {
      event = eventFor(sid, run, lineNo, costFromJson(text), flags.source);
    } catch (e) {
      bad = { line: lineNo, message: errorMessage(e) };
      break;
    }
    pending ??= { events: [], first: lineNo, last: lineNo };
    pending.events.push(event);
    pending.last = lineNo;
    lastFlush = event.flush;
    if (pending.events.length >= batchSize) {
      flush();
      // Reading waits for the broker now and then, so a fast pipe cannot run ahead unbounded.
      if (++batches % 4 === 0) await sending;
    } else {
      // A slow producer's lines still go out promptly.
      timer ??= setTimeout(flush, 100);
    }
  }
  rl.close();
  flush();
  await sending;
  if (sendError) {
    // A failed request may still have delivered some of its records; later ones were not sent.
    throw new Error(`sending stdin ${span(sendError.first, sendError.last)} failed: ${errorMessage(sendError.error)}; acknowledged before: ${sentSoFar()}; ${span(sendError.first, sendError.last)} may be partly delivered, nothing after line ${sendError.last} was sent`);
  }
  if (bad) throw new Error(`stdin line ${bad.line}: ${bad.message}; ${sentSoFar()}, nothing from line ${bad.line} on`);
  if (acked === 0) throw new Error('stdin held no update (one JSON object per line, e.g. {"delta_indices":[3],"delta_values":[0.5]})');
  return { updates: acked, lines: lineNo, lastFlush };
}

async function produceCost(flags: CostFlags): Promise<void> {
  const sid = checkSessionId(flags.session);
  const run = `cli:${Date.now().toString(36)}:${randomBytes(4).toString('hex')}`;
  if (flags.stdin && (flags.b.length > 0 || flags.a.length > 0)) throw new Error('give either --stdin or --b/--a, not both');
  // One command-line update is its own group unless --no-flush leaves the group open.
  const single = flags.stdin ? undefined : eventFor(sid, run, 0, costFromFlags(flags.b, flags.a, flags.flush ?? true), flags.source);
  const t0 = performance.now();
  const sender = await EventSender.connect(loadConfig());
  let result: { updates: number; lines: number | null; lastFlush: boolean };
  try {
    if (single) {
      await sender.send('solver.costs', [single]);
      result = { updates: 1, lines: null, lastFlush: single.flush };
    } else {
      result = await fromStdin(sid, run, flags, sender);
    }
  } finally {
    await sender.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  err(`produce: ${result.updates} cost update(s) for session ${sid} acknowledged on solver.costs in ${seconds.toFixed(2)} s`);
  if (!result.lastFlush) err('produce: the last update has flush=false: its group stays open until an update with flush=true (or the solver\'s SOLVER_COALESCE_MAX) closes it');
  process.stdout.write(`${JSON.stringify({ session: sid, updates: result.updates, lines: result.lines, last_flush: result.lastFlush, seconds: Math.round(seconds * 1000) / 1000 })}\n`);
}

export function register(program: Command): void {
  const produce = program.command('produce').description('push solver inputs from the command line or stdin');
  produce
    .command('cost')
    .description('push cost deltas (CostUpdated) to a session: one from --b/--a, or many from NDJSON on stdin')
    .requiredOption('--session <id>', 'session id')
    .option('--b <i=v>', 'add v to b[i] (0-based); repeatable', collect, [])
    .option('--a <i,j,old,new>', 'replace A[i][j] (0-based), believed to hold old, by new; repeatable', collect, [])
    .option('--flush', 'close the coalescing group with this update (the default)')
    .option('--no-flush', 'leave the group open: a later update with flush applies them together')
    .option('--stdin', 'read updates from stdin, one JSON object per line: {"delta_indices":[i...],"delta_values":[v...],"matrix_updates":[{"row","col","old_value","new_value"}],"flush":true}')
    .option('--source <node>', 'source_node of the updates', 'cli')
    .option('--batch <n>', 'updates per produce request with --stdin (each acknowledged before the next)', '5000')
    .action(produceCost);
}
