// Where the transactional relay's latency goes: relay.ts alone at LOG_LEVEL=debug, paced at
// 1,000 updates/s for 3 s, and per transaction the rdkafka engine's debug timings (begin, offsets
// sent, commit) and the consume loop's wait for a first record.
//   npx tsx bench/solver-service/relay-phases.ts   RELAY_ENV=SOLVER_POLL_TIMEOUT_MS=10,... (the relay's knobs)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { EventCodec } from '../../services/runtime/codec';
import { loadConfig } from '../../services/runtime/config';
import { deletePrefixedTopics } from '../../topics/apply';
import { benchProducer } from './clients';
import { CostSource } from './costs';
import { figures, pacedLatency } from './measure';
import { freshTopics, PLAIN, readBaselines } from './service';
import { poisson2d } from '../../wasm/src/problems';

async function main() {
  const config = loadConfig(process.env);
  const brokers = config.kafkaBrokers;
  const codec = new EventCodec(config.schemaRegistryUrl);
  const prefix = `relaytrace-${randomBytes(3).toString('hex')}.`;
  await freshTopics(brokers, prefix);
  let log = '';
  const proc = spawn(process.execPath, ['--require', 'tsx/cjs', join(__dirname, 'relay.ts'), PLAIN], {
    env: { ...process.env, TOPIC_PREFIX: prefix, HTTP_PORT: '0', LOG_LEVEL: 'debug', INSTANCE_ID: `rt-${process.pid}`, ...(process.env.RELAY_ENV ? Object.fromEntries(process.env.RELAY_ENV.split(',').map((kv) => kv.split('='))) : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  try {
    const ends = await readBaselines(brokers, codec, prefix);
    const prod = await benchProducer(brokers, { lingerMs: 0 });
    for (let i = 0; i < 600 && !/partitions assigned/.test(log); i++) await new Promise((r) => setTimeout(r, 100));
    const a = poisson2d(100); const src = new CostSource(codec, 'abc', a);
    const path = { topic: `${prefix}${PLAIN}`, key: 'abc', coverage: ends.relayed };
    await pacedLatency(prod, path, await src.stamped(`${prefix}solver.costs`, 500, 1), 1000);
    const mark = log.length;
    const f = await pacedLatency(prod, path, await src.stamped(`${prefix}solver.costs`, 3000, 1), 1000);
    console.log(`relay p50 ${f.p50.toFixed(1)} p99 ${f.p99.toFixed(1)}`);
    const lines = log.slice(mark).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const tx = lines.filter((l) => l.msg === 'transaction committed');
    const cons = lines.filter((l) => l.msg === 'consume: first record');
    const q = (xs: number[]) => { const g = figures(xs); return `p50 ${g.p50.toFixed(1)} p90 ${g.quantiles[90]!.toFixed(1)} p99 ${g.p99.toFixed(1)}`; };
    console.log(`${tx.length} transactions, records/txn ${q(tx.map((t) => t.records))}`);
    console.log(`begin ms ${q(tx.map((t) => t.beginMs))}`);
    console.log(`offsets ms ${q(tx.map((t) => t.offsetsMs))}`);
    console.log(`commit ms ${q(tx.map((t) => t.commitMs))}`);
    console.log(`consume first-record wait ms ${q(cons.map((t) => t.waitedMs))} (${cons.length} polls, ${cons.filter((c) => c.got === 0).length} empty)`);
    await prod.close();
    for (const c of ends.consumers) await c.close();
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.on('exit', r));
    await deletePrefixedTopics(brokers, prefix);
  }
  process.exit(0);
}
main().catch((err: unknown) => { process.stderr.write(`relay-phases: ${(err as Error).stack ?? String(err)}\n`); process.exit(1); });
