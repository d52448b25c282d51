// solvermesh replay --session <id> [--from <offset|timestamp>] [--verification]: rebuilds a
// session from the log with a reader that commits and produces nothing, and compares every
// recomputed IterationCompleted and EntryEstimated with the recorded one bit for bit; with
// --verification also every verifier group's checks, votes and corrections and every consensus
// outcome (services/verifier/replay.ts). Exit 0 OK, 1 on divergence.
import type { Command } from 'commander';
import { EventCodec } from '../../runtime/codec';
import type { Divergence } from '../../runtime/divergence';
import { withEventTimeBound } from '../../runtime/event-time';
import { eventTimeBound, readServiceConfig } from '../../runtime/service';
import { schemaValidator } from '../../runtime/validation';
import { solverService } from '../../solver';
import { solverTuning } from '../../solver/config';
import { replaySession, type ReplayOptions } from '../../solver/replay';
import { verifierService } from '../../verifier';
import { FAULTS, replicaLimits, type Fault } from '../../verifier/config';
import { replayVerification } from '../../verifier/replay';

function parseFrom(raw: string | undefined): ReplayOptions['from'] {
  if (raw === undefined) return undefined;
  if (/^\d+$/.test(raw) && raw.length < 13) return { offset: Number(raw) };
  const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(ms)) throw new Error(`--from ${JSON.stringify(raw)} is neither an offset, epoch milliseconds nor an ISO-8601 time`);
  return { timestampMs: ms };
}

/** `g3=lie,g4=lie` as faults by group. */
export function parseFaults(raw: string | undefined): Record<string, Fault> {
  const out: Record<string, Fault> = {};
  for (const part of (raw ?? '').split(',').filter((p) => p.trim() !== '')) {
    const [group, fault] = part.split('=').map((s) => s.trim());
    if (!group || !(FAULTS as readonly string[]).includes(fault ?? '')) throw new Error(`--faults takes group=fault pairs with fault one of ${FAULTS.join(', ')} (got ${JSON.stringify(part)})`);
    out[group] = fault as Fault;
  }
  return out;
}

function bar(done: number, total: number): void {
  if (!process.stderr.isTTY) return;
  const width = 30;
  const filled = total > 0 ? Math.round((done / total) * width) : width;
  process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} inputs`);
  if (done >= total) process.stderr.write('\n');
}

const where = (d: Divergence) => (d.topic === null ? 'beyond the recorded events' : `${d.topic} offset ${d.offset}`);
const out = (line: string) => process.stdout.write(`${line}\n`);

export function register(program: Command): void {
  program
    .command('replay')
    .description('rebuild a solver session from the log (nothing committed or produced) and compare every IterationCompleted and EntryEstimated bit for bit; --verification adds the verifier groups\' and consensus\' outputs')
    .requiredOption('--session <id>', 'session id')
    .option('--from <offset|timestamp>', 'compare from the first event whose inputs reach this offset, or from this time (ISO-8601 / epoch ms)')
    .option('--verification', 'also re-run the verifier groups and the consensus over the recorded inputs and compare their outputs')
    .option('--groups <n>', 'with --verification: n configured verifier groups (default: the group_count the votes state)')
    .option('--faults <g=fault,...>', 'with --verification: groups that ran with VERIFIER_FAULT (their votes are recomputed with it)')
    .action(async (opts: { session: string; from?: string; verification?: boolean; groups?: string; faults?: string }) => {
      // The services' own knobs too: the replay must fold with the limits they ran with.
      const config = readServiceConfig(solverService);
      const codec = new EventCodec(config.schemaRegistryUrl);
      const validate = withEventTimeBound(schemaValidator(), eventTimeBound(config));
      const faults = parseFaults(opts.faults);
      const groups = opts.groups === undefined ? undefined : Number(opts.groups);
      if (groups !== undefined && !(Number.isInteger(groups) && groups >= 1)) throw new Error(`--groups must be a positive integer (got '${opts.groups}')`);
      const result = await replaySession({
        brokers: config.kafkaBrokers, codec, topicPrefix: config.topicPrefix,
        sessionId: opts.session, from: parseFrom(opts.from), limits: solverTuning(config).limits, validate, progress: bar,
      });
      const est = result.estimates;
      if (result.ok) {
        out(`OK session ${opts.session}: ${result.compared} IterationCompleted identical (${result.recorded} recorded, ${result.recomputed} recomputed), ${est.compared} EntryEstimated identical, from ${result.inputs} inputs of partition ${result.partition}`);
      } else {
        const d = result.divergence ?? est.divergence!;
        const what = result.divergence ? `recorded IterationCompleted #${d.index}` : `recorded EntryEstimated #${d.index}`;
        out(`DIVERGED session ${opts.session} at ${what} (${where(d)}), field ${d.field}: recorded ${JSON.stringify(d.recorded)}, recomputed ${JSON.stringify(d.recomputed)} (${result.divergence ? result.compared : est.compared} identical before it)`);
        process.exitCode = 1;
      }
      if (!opts.verification) return;

      const vconfig = readServiceConfig(verifierService);
      const v = await replayVerification({
        brokers: config.kafkaBrokers, codec, topicPrefix: config.topicPrefix, sessionId: opts.session, limits: replicaLimits(vconfig),
        probeCount: vconfig.verifierProbeCount, probeSize: vconfig.verifierProbeSize, faults, validate, ...(groups ? { groups } : {}),
      });
      for (const s of v.streams) {
        out(`${s.divergence ? 'DIVERGED' : 'OK'} ${s.stream.padEnd(16)} ${s.compared} identical (${s.recorded} recorded, ${s.recomputed} recomputed)`);
      }
      if (v.groups.length === 0) out(`note: no verifier group has verified session ${opts.session}`);
      if (v.first) {
        const d = v.first;
        out(`DIVERGED session ${opts.session} verification: first at ${d.stream} event #${d.index} (${where(d)}), field ${d.field}: recorded ${JSON.stringify(d.recorded)}, recomputed ${JSON.stringify(d.recomputed)}`);
        process.exitCode = 1;
      }
    });
}
