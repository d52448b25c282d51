// solvermesh replay --session <id> [--from <offset|timestamp>]: rebuilds a session from the log
// with a reader that commits and produces nothing, and compares every recomputed
// IterationCompleted with the recorded one bit for bit. Exit 0 OK, 1 on divergence.
import type { Command } from 'commander';
import { EventCodec } from '../../runtime/codec';
import { readServiceConfig } from '../../runtime/service';
import { schemaValidator } from '../../runtime/validation';
import { solverService } from '../../solver';
import { solverTuning } from '../../solver/config';
import { replaySession, type ReplayOptions } from '../../solver/replay';

function parseFrom(raw: string | undefined): ReplayOptions['from'] {
  if (raw === undefined) return undefined;
  if (/^\d+$/.test(raw) && raw.length < 13) return { offset: Number(raw) };
  const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(ms)) throw new Error(`--from ${JSON.stringify(raw)} is neither an offset, epoch milliseconds nor an ISO-8601 time`);
  return { timestampMs: ms };
}

function bar(done: number, total: number): void {
  if (!process.stderr.isTTY) return;
  const width = 30;
  const filled = total > 0 ? Math.round((done / total) * width) : width;
  process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} inputs`);
  if (done >= total) process.stderr.write('\n');
}

export function register(program: Command): void {
  program
    .command('replay')
    .description('rebuild a solver session from the log (nothing committed or produced) and compare every IterationCompleted bit for bit')
    .requiredOption('--session <id>', 'session id')
    .option('--from <offset|timestamp>', 'compare from the first event whose inputs reach this offset, or from this time (ISO-8601 / epoch ms)')
    .action(async (opts: { session: string; from?: string }) => {
      // The solver's own knobs too: the replay must fold with the limits the service ran with.
      const config = readServiceConfig(solverService);
      const result = await replaySession({
        brokers: config.kafkaBrokers, codec: new EventCodec(config.schemaRegistryUrl), topicPrefix: config.topicPrefix,
        sessionId: opts.session, from: parseFrom(opts.from), limits: solverTuning(config).limits, validate: schemaValidator(), progress: bar,
      });
      if (result.ok) {
        process.stdout.write(`OK session ${opts.session}: ${result.compared} IterationCompleted identical (${result.recorded} recorded, ${result.recomputed} recomputed) from ${result.inputs} inputs of partition ${result.partition}\n`);
        return;
      }
      const d = result.divergence!;
      process.stdout.write(`DIVERGED session ${opts.session} at recorded event #${d.index} (solver.iterations offset ${d.offset ?? '-'}), field ${d.field}: recorded ${JSON.stringify(d.recorded)}, recomputed ${JSON.stringify(d.recomputed)} (${result.compared} identical before it)\n`);
      process.exitCode = 1;
    });
}
