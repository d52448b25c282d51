import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { Kafka, logLevel } from 'kafkajs';
import { kafkajsConfig } from '../../runtime/credentials';
import { DLQ_SUFFIX } from '../../../topics/catalog';
import { EventCodec } from '../../runtime/codec';
import { loadConfig } from '../../runtime/config';
import { errorMessage } from '../../runtime/errors';

interface TailOptions {
  json?: boolean;
  follow?: boolean;
  offset?: string;
  timestamp?: string;
  partition?: string;
  max?: string;
}

/** JSON-safe view of a decoded event: bytes become base64 (--json) or a length (pretty). */
function plain(value: unknown, json: boolean): unknown {
  if (Buffer.isBuffer(value)) return json ? { base64: value.toString('base64') } : `<${value.length} bytes>`;
  if (Array.isArray(value)) return value.map((v) => plain(v, json));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v, json)]));
  return value;
}

function parseTimestamp(raw: string): number {
  const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(ms)) throw new Error(`--timestamp ${JSON.stringify(raw)} is neither epoch milliseconds nor an ISO-8601 time`);
  return ms;
}

export function register(program: Command): void {
  program
    .command('tail')
    .description('print the decoded records of any topic (dead-letter topics show their error headers)')
    .argument('<topic>', 'topic name, e.g. solver.iterations or mesh.conflicts.dlq')
    .option('--json', 'one JSON object per line (NDJSON) instead of pretty lines')
    .option('-f, --follow', 'keep waiting for new records (default: stop at the end)')
    .option('--offset <n>', 'start at this offset in every partition (default: the beginning)')
    .option('--timestamp <t>', 'start at the first record at/after this time (ISO-8601 or epoch ms)')
    .option('--partition <p>', 'only this partition')
    .option('--max <n>', 'stop after this many records')
    .action(async (name: string, opts: TailOptions) => {
      const config = loadConfig();
      const topic = config.topicPrefix + name;
      const codec = new EventCodec(config.schemaRegistryUrl);
      const kafka = new Kafka(kafkajsConfig({ clientId: 'solvermesh-tail', brokers: config.kafkaBrokers, logLevel: logLevel.NOTHING }));
      const max = opts.max === undefined ? Infinity : Number(opts.max);
      if (!(max > 0)) throw new Error(`--max must be a positive number, got ${opts.max}`);
      const onlyPartition = opts.partition === undefined ? undefined : Number(opts.partition);

      const admin = kafka.admin();
      await admin.connect();
      const known = await admin.listTopics();
      if (!known.includes(topic)) {
        await admin.disconnect();
        throw new Error(`topic ${topic} does not exist (run 'solvermesh topics apply'?)`);
      }
      const ends = await admin.fetchTopicOffsets(topic);
      const starts = opts.timestamp !== undefined
        ? await admin.fetchTopicOffsetsByTimestamp(topic, parseTimestamp(opts.timestamp))
        : ends.map((e) => ({ partition: e.partition, offset: opts.offset ?? e.low }));
      await admin.disconnect();
      const partitions = ends.filter((e) => onlyPartition === undefined || e.partition === onlyPartition);
      if (partitions.length === 0) throw new Error(`topic ${topic} has no partition ${opts.partition}`);
      // Without --follow we stop at the high watermarks seen now.
      const remaining = new Map(partitions.map((e) => [e.partition, BigInt(e.high)]));
      const startOf = new Map(starts.map((s) => [s.partition, BigInt(s.offset === '-1' ? '0' : s.offset)]));
      const pending = () => [...remaining].some(([p, high]) => (startOf.get(p) ?? 0n) < high);

      let printed = 0;
      let finish!: () => void;
      const finished = new Promise<void>((r) => (finish = r));
      const consumer = kafka.consumer({ groupId: `solvermesh-tail-${randomBytes(4).toString('hex')}`, readUncommitted: false });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const isDlq = name.endsWith(DLQ_SUFFIX);
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          if (onlyPartition !== undefined && partition !== onlyPartition) return;
          if (printed >= max) return;
          const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
          let body: { type: string; event?: unknown; error?: string };
          if (isDlq) {
            body = { type: 'DeadLetter', event: { headers, bytes: message.value?.length ?? 0 } };
          } else {
            try {
              const { event } = await codec.decode(message.value);
              body = { type: event.type, event: plain(event, Boolean(opts.json)) };
            } catch (err) {
              body = { type: 'Undecodable', error: errorMessage(err) };
            }
          }
          const key = message.key?.toString() ?? null;
          if (opts.json) {
            process.stdout.write(`${JSON.stringify({ topic: name, partition, offset: message.offset, timestamp: Number(message.timestamp), key, ...body })}\n`);
          } else {
            const detail = body.error ?? JSON.stringify(body.event);
            process.stdout.write(`${name}[${partition}]@${message.offset} ${new Date(Number(message.timestamp)).toISOString()} key=${key} ${body.type} ${detail}\n`);
          }
          printed += 1;
          startOf.set(partition, BigInt(message.offset) + 1n);
          if (printed >= max || (!opts.follow && !pending())) finish();
        },
      });
      for (const p of partitions) {
        consumer.seek({ topic, partition: p.partition, offset: String(startOf.get(p.partition) ?? 0n) });
      }
      if (!opts.follow && !pending()) finish();
      const stop = () => finish();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await finished;
      await consumer.disconnect();
    });
}
