import type { Command } from 'commander';
import { allTopicSpecs } from '../../../topics/catalog';
import { applyTopics } from '../../../topics/apply';
import { loadConfig } from '../../runtime/config';

export function register(program: Command): void {
  const topics = program.command('topics').description('topic declarations (topics/catalog.ts)');
  topics
    .command('apply')
    .description('create or update every declared topic and its .dlq, idempotently')
    .option('--replication <n>', 'replication factor (default: min(3, brokers))', (v) => Number(v))
    .action(async (opts: { replication?: number }) => {
      const config = loadConfig();
      const report = await applyTopics(config.kafkaBrokers, allTopicSpecs(config.topicPrefix), opts.replication ? { replicationFactor: opts.replication } : {});
      for (const [what, names] of Object.entries(report)) {
        if (names.length > 0) process.stdout.write(`${what.padEnd(12)} ${names.join(', ')}\n`);
      }
      process.stdout.write(`topics: ${report.created.length} created, ${report.grown.length} grown, ${report.reconfigured.length} reconfigured, ${report.unchanged.length} unchanged\n`);
    });
  topics
    .command('list')
    .description('print the declared topics')
    .action(() => {
      for (const t of allTopicSpecs(loadConfig().topicPrefix)) {
        process.stdout.write(`${t.name.padEnd(28)} partitions=${t.partitions} key=${t.key} ${Object.entries(t.config).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
      }
    });
}
