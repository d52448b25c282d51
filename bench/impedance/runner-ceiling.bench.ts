// The runner's own ceiling: heartbeats/s through ProcessorRunner with trivial processors on
// both engines (one Kafka transaction per batch, as every service gets), beside nothing else.
//   noop      decode (+ validation) and no output
//   noval     decode without validation, no output
//   one-out   decode + validation + one small output record per input record
// BENCH_HEARTBEATS (150000)  BENCH_RUNS (3)  BENCH_BATCH (5000)  BENCH_ENGINES (kafkajs,rdkafka)  BENCH_MODES (noop,noval,one-out)
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { kafkajsConfig } from '../../services/runtime/credentials';
import { EventCodec } from '../../services/runtime/codec';
import { loadConfig } from '../../services/runtime/config';
import { createEngine } from '../../services/runtime/engine';
import { createLogger } from '../../services/runtime/logger';
import { createMetrics } from '../../services/runtime/metrics';
import type { Processor } from '../../services/runtime/processor';
import { ProcessorRunner } from '../../services/runtime/runner';
import { schemaValidator } from '../../services/runtime/validation';
import { fillHeartbeats, median } from './fill';
import { deletePrefixedTopics } from '../../topics/apply';

const N = Number(process.env.BENCH_HEARTBEATS ?? 150_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BATCH = Number(process.env.BENCH_BATCH ?? 5000);
const ENGINES = (process.env.BENCH_ENGINES ?? 'kafkajs,rdkafka').split(',') as Array<'kafkajs' | 'rdkafka'>;
const MODES = (process.env.BENCH_MODES ?? 'noop,noval,one-out').split(',');
const base = loadConfig(process.env);
const kafka = new Kafka(kafkajsConfig({ clientId: 'bench-ceiling', brokers: base.kafkaBrokers, logLevel: logLevel.NOTHING }));

function trivial(mode: string): Processor<'HeartbeatReceived'> {
  return {
    name: 'ceiling',
    inputs: ['mesh.heartbeats'],
    accepts: ['HeartbeatReceived'],
    handle(hb) {
      if (mode !== 'one-out') return [];
      // A small record: the heartbeat's state as an AgentStateChanged (~150 bytes).
      return [{ topic: 'mesh.impedance', key: hb.agent_id, event: {
        type: 'AgentStateChanged', meta: hb.meta, agent_id: hb.agent_id, sector_id: hb.sector_id, cluster_id: hb.cluster_id,
        previous_state: 'ACTIVE', new_state: 'ACTIVE', cause: 'RECOVERED', last_heartbeat_at: hb.meta.occurred_at, detail: '',
      } }];
    },
  };
}

async function run(prefix: string, engine: 'kafkajs' | 'rdkafka', mode: string): Promise<number> {
  const config = loadConfig({ ...process.env, TOPIC_PREFIX: prefix, KAFKA_CLIENT: engine, LOG_LEVEL: 'warn' });
  const logger = createLogger('warn', 'bench-ceiling');
  const groupId = `${prefix}ceiling-${mode}-${engine}`;
  const runner = new ProcessorRunner({
    processor: trivial(mode), engine: createEngine(config, logger), codec: new EventCodec(config.schemaRegistryUrl), metrics: createMetrics('bench', false), logger,
    groupId, topicPrefix: prefix, maxRetries: 5, retryBackoffMs: 200, stallTimeoutMs: 60_000, maxBatchRecords: BATCH,
    ...(mode === 'noval' ? {} : { validate: schemaValidator() }),
  });
  const admin = kafka.admin();
  await admin.connect();
  await runner.start();
  const topic = `${prefix}mesh.heartbeats`;
  const committed = async () => {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (t?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  };
  let first = 0;
  let firstAt = 0;
  for (;;) {
    const c = await committed();
    if (c > 0 && firstAt === 0) { first = c; firstAt = Date.now(); }
    if (c >= N) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const rate = ((N - first) * 1000) / (Date.now() - firstAt);
  await runner.stop();
  await admin.disconnect();
  return rate;
}

async function main(): Promise<void> {
  const results: Record<string, number[]> = {};
  for (let r = 0; r < RUNS; r++) {
    const prefix = `bench-ceil-${Date.now().toString(36)}${randomBytes(2).toString('hex')}.`;
    await fillHeartbeats(kafka, base.kafkaBrokers, base.schemaRegistryUrl, prefix, N);
    for (const engine of ENGINES) {
      for (const mode of MODES) {
        const rate = await run(prefix, engine, mode);
        (results[`${engine} ${mode}`] ??= []).push(rate);
        process.stderr.write(`run ${r + 1}/${RUNS} ${engine} ${mode}: ${Math.round(rate)}/s\n`);
      }
    }
    await deletePrefixedTopics(base.kafkaBrokers, prefix);
  }
  process.stdout.write(`runner ceiling: ${N} heartbeats per run, batch <= ${BATCH}, runs: ${RUNS}\n`);
  for (const [name, xs] of Object.entries(results)) {
    process.stdout.write(`${name.padEnd(20)} median ${Math.round(median(xs)).toLocaleString('en-US').padStart(9)}/s   runs: ${xs.map((x) => Math.round(x)).join(', ')}\n`);
  }
  process.exit(0);
}

void main();
