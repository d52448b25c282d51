// solvermesh sessions [--json]: every session in the log with its state, read by the runtime's
// log reader (partitions assigned by hand: no group, nothing committed, nothing produced).
import type { Command } from 'commander';
import { MESH_PARTITIONS, SOLVER_PARTITIONS } from '../../../topics/catalog';
import { EventCodec } from '../../runtime/codec';
import { loadConfig } from '../../runtime/config';
import { readLog, type LogRecord } from '../../runtime/kafka/log-reader';
import { recordTyper } from '../../runtime/record-type';
import { requireTopics } from '../topic-check';
import { emptySessionLog, foldCostEntry, foldLogEntry, sessionTable, summarize } from '../session-list';

export function register(program: Command): void {
  program
    .command('sessions')
    .description('list the solver sessions in the log with their state (nothing committed or produced)')
    .option('--json', 'one JSON object per session (NDJSON)')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig();
      const prefix = config.topicPrefix;
      const codec = new EventCodec(config.schemaRegistryUrl);
      const log = emptySessionLog();
      const fold = (r: LogRecord) => foldLogEntry(log, { ...r, topic: r.topic.slice(prefix.length) });
      await requireTopics(config.kafkaBrokers, ['solver.costs', 'solver.costs.dlq', 'solver.sessions', 'solver.iterations', 'mesh.conflicts'].map((t) => prefix + t));
      const ranges = (topic: string, partitions: number) => [...Array(partitions).keys()].map((p) => ({ topic: prefix + topic, partition: p, from: 0 }));
      // A cost update the solver refused is recognised by its bytes, copied unchanged to
      // solver.costs.dlq. The fold takes the topics in any interleaving, so the reads run side
      // by side.
      const dead = new Set<string>();
      const typeOf = recordTyper(codec);
      const costs = readLog(config.kafkaBrokers, codec, [{ topic: `${prefix}solver.costs.dlq`, partition: 0, from: 0 }], {
        decode: false, onRecord: (r) => { if (r.key !== null && r.value) dead.add(`${r.key}/${r.value.toString('base64')}`); },
      }).then(() => readLog(config.kafkaBrokers, codec, ranges('solver.costs', SOLVER_PARTITIONS), {
        // Only the type matters here (commands and closes are sequenced there too), not the body.
        decode: false,
        onRecord: async (r) => {
          if (await typeOf(r.value) !== 'CostUpdated') return;
          foldCostEntry(log, { ...r, deadLettered: dead.size > 0 && r.value !== null && dead.has(`${r.key}/${r.value.toString('base64')}`) });
        },
      }));
      await Promise.all([
        costs,
        readLog(config.kafkaBrokers, codec, [
          ...ranges('solver.sessions', SOLVER_PARTITIONS), ...ranges('solver.iterations', SOLVER_PARTITIONS), ...ranges('mesh.conflicts', MESH_PARTITIONS),
        ], { onRecord: fold }),
      ]);
      const rows = summarize(log);
      if (opts.json) {
        for (const s of rows) process.stdout.write(`${JSON.stringify(s)}\n`);
        return;
      }
      if (rows.length === 0) {
        process.stderr.write(`no sessions in ${prefix}solver.sessions\n`);
        return;
      }
      for (const line of sessionTable(rows)) process.stdout.write(`${line}\n`);
    });
}
