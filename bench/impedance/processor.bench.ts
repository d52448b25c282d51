// CPU per heartbeat of the impedance pipeline without Kafka: decode -> validate -> fold ->
// Redis -> changelog encode, batches handled the way the runner does (handle per record,
// flush, encode outputs, onCommitted). The rate on a shared 2-core machine swings with
// whatever else runs; CPU time per heartbeat of this process and of the Redis server does not
// (much), so this is the number to compare changes with. Kafka's own cost is in
// heartbeats.bench.ts (and its raw-consume and runner-ceiling figures).
//   BENCH_HEARTBEATS (300000)  BENCH_BATCH (20000)  BENCH_MODE behind|live (records old, or
//   just written: the service at the end of the log writes and checkpoints every batch)
//   BENCH_PARTITIONS (6)  IMPEDANCE_* knobs as in the service.
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { redisAuth } from '../../services/runtime/credentials';
import pino from 'pino';
import type { HeartbeatReceived } from '../../schemas/generated/events';
import { loadEventSchemas } from '../../schemas/catalog';
import { validateEvent } from '../../schemas/validate';
import { loadConfig } from '../../services/runtime/config';
import { readKnobs } from '../../services/runtime/knobs';
import type { Emit, Processor } from '../../services/runtime/processor';
import { IMPEDANCE_KNOBS, impedanceTuning } from '../../services/impedance/config';
import { unlinkPrefixed } from '../../services/impedance/registry-store';
import { AGENTS, meshHeartbeats, redisCpu } from './fill';

const N = Number(process.env.BENCH_HEARTBEATS ?? 300_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 20_000);
const MODE = process.env.BENCH_MODE ?? 'behind';
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 6);
const IMPL = process.env.BENCH_IMPL ?? '../../services/impedance';

interface Impl {
  impedanceProcessor(deps: Record<string, unknown>): Processor<'HeartbeatReceived'>;
  RegistryStore: new (r: Redis, prefix: string) => unknown;
}


async function main(): Promise<void> {
  const { impedanceProcessor } = (await import(`${IMPL}/processor`)) as Impl;
  const { RegistryStore } = (await import(`${IMPL}/registry-store`)) as Impl;
  const schemas = loadEventSchemas();
  const hbType = schemas.get('HeartbeatReceived')!.type;
  // Per partition, in offset order (an agent always lands on the same partition).
  const parts: Buffer[][] = Array.from({ length: PARTITIONS }, () => []);
  let i = 0;
  for (const hb of meshHeartbeats(N)) parts[(i++ % AGENTS) % PARTITIONS]!.push(hbType.toBuffer(hb));
  const redis = new Redis(loadConfig(process.env).redisUrl, redisAuth());
  const prefix = `bench-proc-${randomBytes(3).toString('hex')}:`;
  const processor = impedanceProcessor({
    store: new RegistryStore(redis, prefix), logger: pino({ level: 'silent' }), summaryPartition: 0,
    restore: async () => new Map(), readTail: async () => [], ...impedanceTuning(readKnobs(IMPEDANCE_KNOBS, process.env)),
  });
  await processor.onAssigned?.(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: 'mesh.heartbeats', partition })));
  const encode = (emits: readonly Emit[]) => {
    let bytes = 0;
    for (const e of emits) {
      const ev = e.event;
      if (ev.type === 'ImpedanceUpdated' && ev.applied_through === undefined) ev.applied_through = null;
      bytes += schemas.get(ev.type)!.type.toBuffer(ev).length;
    }
    return bytes;
  };
  let outputs = 0;
  let changelog = 0;
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
      const to = Math.min(parts[p]!.length, from + BATCH);
      if (from >= to) continue;
      const ts = MODE === 'live' ? Date.now() : Date.now() - 600_000;
      const out: Emit[] = [];
      for (let o = from; o < to; o++) {
        const event: HeartbeatReceived = { ...hbType.fromBuffer(parts[p]![o]!), type: 'HeartbeatReceived' };
        if (validateEvent(event).length > 0) throw new Error('invalid');
        out.push(...(await processor.handle(event, { topic: 'mesh.heartbeats', partition: p, offset: String(o), timestampMs: ts, key: event.agent_id })));
      }
      out.push(...(await processor.flush!()));
      encode(out);
      outputs += out.length;
      changelog += out.filter((e) => e.event.type === 'ImpedanceUpdated').length;
      processor.onCommitted?.({ topic: 'mesh.heartbeats', partition: p, lastOffset: String(to - 1) });
      await punctuate();
      next[p] = to;
      done += to - from;
    }
  }
  await (processor as { drain?: () => Promise<void> }).drain?.();
  const wallMs = Date.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const redisUs = ((await redisCpu(redis)) - redis0) * 1e6;
  process.stdout.write(`${IMPL} mode=${MODE} batch=${BATCH} heartbeats=${N}: node ${((cpu.user + cpu.system) / N).toFixed(1)} cpu-µs/hb, redis-server ${(redisUs / N).toFixed(1)} cpu-µs/hb, `
    + `wall ${Math.round((N * 1000) / wallMs).toLocaleString('en-US')}/s, outputs ${outputs} (changelog ${changelog})\n`);
  await unlinkPrefixed(redis, prefix);
  redis.disconnect();
  process.exit(0);
}

void main();
