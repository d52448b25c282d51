// CPU per heartbeat of the service's whole per-record path without a Kafka client: the real
// ProcessorRunner.processBatch (unframe, decode, validate, handle, flush, encode) over framed
// records of a 30,000-agent mesh, 6 partitions taken in turn, each batch then committed as an
// engine would report it; Redis is the real one. What heartbeats.bench.ts adds on top is the
// Kafka client's consume and transaction cost, which this leaves out so that A/B comparisons of
// the service's own work are not drowned by the broker on a shared machine.
//   BENCH_HEARTBEATS (300000)  BENCH_BATCH (20000, the service's)  BENCH_RUNS (5)  IMPEDANCE_* knobs as in the service.
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { redisAuth } from '../../services/runtime/credentials';
import pino from 'pino';
import { EventCodec } from '../../services/runtime/codec';
import { loadConfig } from '../../services/runtime/config';
import { readKnobs } from '../../services/runtime/knobs';
import type { InRecord, KafkaEngine } from '../../services/runtime/kafka/types';
import { createMetrics } from '../../services/runtime/metrics';
import { ProcessorRunner } from '../../services/runtime/runner';
import { schemaValidator } from '../../services/runtime/validation';
import { impedanceService } from '../../services/impedance';
import { IMPEDANCE_KNOBS, impedanceTuning } from '../../services/impedance/config';
import { impedanceProcessor } from '../../services/impedance/processor';
import { RegistryStore, unlinkPrefixed } from '../../services/impedance/registry-store';
import { AGENTS, median, meshHeartbeats, redisCpu } from './fill';

const N = Number(process.env.BENCH_HEARTBEATS ?? 300_000);
const BATCH = Number(process.env.BENCH_BATCH ?? impedanceService.maxBatchRecords ?? 20_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PARTITIONS = 6;
const config = loadConfig(process.env);


const noEngine = { kind: 'kafkajs', transactionalConsumer: () => { throw new Error('not used'); }, producer: () => { throw new Error('not used'); } } as unknown as KafkaEngine;

async function run(codec: EventCodec, topicPrefix: string, parts: InRecord[][], redis: Redis): Promise<{ node: number; redis: number; rate: number }> {
  const prefix = `bench-pipe-${randomBytes(3).toString('hex')}:`;
  const logger = pino({ level: 'silent' });
  const processor = impedanceProcessor({
    store: new RegistryStore(redis, prefix), logger, summaryPartition: 0,
    restore: async () => new Map(), readTail: async () => [], ...impedanceTuning(readKnobs(IMPEDANCE_KNOBS, process.env)),
  });
  const runner = new ProcessorRunner({
    processor, engine: noEngine, codec, metrics: createMetrics('bench', false), logger, groupId: 'bench', topicPrefix,
    maxRetries: 5, retryBackoffMs: 200, stallTimeoutMs: 60_000, validate: schemaValidator(),
  });
  await processor.onAssigned?.(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: 'mesh.heartbeats', partition })));
  const ctx = { heartbeat: async () => undefined };
  const cpu0 = process.cpuUsage();
  const redis0 = await redisCpu(redis);
  const t0 = Date.now();
  const next = new Array<number>(PARTITIONS).fill(0);
  // Between batches, on its cadence, as the runner punctuates.
  let punctuated = Date.now();
  const punctuate = async () => {
    const every = processor.punctuation?.everyMs ?? 0;
    if (every > 0 && Date.now() - punctuated >= every) { punctuated = Date.now(); await processor.punctuation!.punctuate(punctuated); }
  };
  for (let done = 0; done < N;) {
    for (let p = 0; p < PARTITIONS; p++) {
      const from = next[p]!;
      const records = parts[p]!.slice(from, from + BATCH);
      if (records.length === 0) continue;
      await runner.processBatch({ topic: `${topicPrefix}mesh.heartbeats`, partition: p, records, highWatermark: String(parts[p]!.length) }, ctx);
      processor.onCommitted?.({ topic: 'mesh.heartbeats', partition: p, lastOffset: records[records.length - 1]!.offset });
      await punctuate();
      next[p] = from + records.length;
      done += records.length;
    }
  }
  await processor.drain();
  const wallMs = Date.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const redisUs = ((await redisCpu(redis)) - redis0) * 1e6;
  await unlinkPrefixed(redis, prefix);
  return { node: (cpu.user + cpu.system) / N, redis: redisUs / N, rate: (N * 1000) / wallMs };
}

async function main(): Promise<void> {
  const codec = new EventCodec(config.schemaRegistryUrl);
  const topicPrefix = 'bench-pipe.';
  const parts: InRecord[][] = Array.from({ length: PARTITIONS }, () => []);
  let i = 0;
  for (const hb of meshHeartbeats(N)) {
    const p = (i++ % AGENTS) % PARTITIONS;
    const value = await codec.encode(`${topicPrefix}mesh.heartbeats`, hb);
    parts[p]!.push({ topic: `${topicPrefix}mesh.heartbeats`, partition: p, offset: String(parts[p]!.length), key: Buffer.from(hb.agent_id), value, headers: {}, timestamp: String(Math.floor(hb.received_at / 1000)) });
  }
  const redis = new Redis(config.redisUrl, redisAuth());
  const runs: Array<{ node: number; redis: number; rate: number }> = [];
  for (let r = 0; r < RUNS; r++) {
    runs.push(await run(codec, topicPrefix, parts, redis));
    const x = runs[runs.length - 1]!;
    process.stderr.write(`run ${r + 1}/${RUNS}: node ${x.node.toFixed(2)} µs/hb, redis-server ${x.redis.toFixed(2)} µs/hb, ${Math.round(x.rate)}/s\n`);
  }
  const m = (f: (x: { node: number; redis: number; rate: number }) => number) => median(runs.map(f));
  process.stdout.write(`pipeline without Kafka: ${N} heartbeats, batch <= ${BATCH}, runs ${RUNS}: node median ${m((x) => x.node).toFixed(2)} cpu-µs/hb, redis-server ${m((x) => x.redis).toFixed(2)} cpu-µs/hb, ${Math.round(m((x) => x.rate)).toLocaleString('en-US')}/s\n`);
  redis.disconnect();
  process.exit(0);
}

void main();
