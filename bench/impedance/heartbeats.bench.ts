// make bench-impedance: sustained heartbeats/s through decode -> fold -> Redis -> changelog
// (the impedance processor in the real runner, one Kafka transaction per batch) with the
// kafkajs and node-rdkafka engines, beside the raw consume rate of the same topic with each
// client. Medians of BENCH_RUNS runs. Each run gets fresh topics (the changelog and registry
// must start empty) filled with the same BENCH_HEARTBEATS heartbeats of a 30,000-agent mesh.
//   BENCH_HEARTBEATS (900000: 30 per agent, so most of a run folds full 12-sample windows, as a
//   running mesh does; at 300,000 no window fills and node CPU per heartbeat read ~20% lower: 14.2 vs 17.2 µs)  BENCH_RUNS (3)  BENCH_ENGINES (kafkajs,rdkafka)  BENCH_BATCH (max records per batch, the service's: 20000)
//   BENCH_INSTANCES (1): the service runs as that many `bin/solvermesh run impedance` processes
//   in one consumer group (as deployed, with the CLI's node flags; 2 or more: scaled out, as a
//   deployment would on more cores), and the node CPU is theirs together. With BENCH_PROFILE or
//   BENCH_IMPL it runs inside this process instead (one instance).
// BENCH_SIGNING (off,required): every engine runs twice in the same run, unsigned (MESH_SIGNING=off,
// an unsigned fill) and signed (the fill signed as the simulator signs, the service verifying);
// the ratio is printed, with the µs to encode, sign and verify one heartbeat in this process
// (BENCH_SIGN_MICRO heartbeats, 20000).
// The service's coalescing knobs apply too: IMPEDANCE_REGISTRY_LAG_MS (1000),
// IMPEDANCE_CHECKPOINT_MS (10000), IMPEDANCE_CAUGHT_UP_MS (5000). The topics are filled before
// the service starts, so it runs behind (records older than IMPEDANCE_CAUGHT_UP_MS): the
// catching-up case, where per-agent writes are coalesced over time.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as os from 'node:os';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { kafkajsConfig, rdkafkaAuth, redisAuth } from '../../services/runtime/credentials';
import type * as Rd from 'node-rdkafka';
import * as current from '../../services/impedance';
import { brokerCpu, fillHeartbeats, median, meshHeartbeats, processCpu, redisCpu } from './fill';
import { loadEventSchemas } from '../../schemas/catalog';
import type { HeartbeatReceived } from '../../schemas/generated/events';
import { canonicalOfFramed } from '../../services/identity/canonical';
import { verifyBytes } from '../../services/identity/ed25519';
import { MessageSigner } from '../../services/identity/signer';
import { frame } from '../../services/runtime/wire-format';
import { simulatedKey } from '../../services/simulator/identity';
import { unlinkPrefixed } from '../../services/impedance/registry-store';
import { deletePrefixedTopics } from '../../topics/apply';
import { EventCodec } from '../../services/runtime/codec';
import { loadConfig } from '../../services/runtime/config';
import { createEngine } from '../../services/runtime/engine';
import { createLogger } from '../../services/runtime/logger';
import { FETCH_BYTES_PER_PARTITION } from '../../services/runtime/kafka/rdkafka-engine';
import { createMetrics } from '../../services/runtime/metrics';
import { ProcessorRunner } from '../../services/runtime/runner';
import { readServiceConfig } from '../../services/runtime/service';
import { schemaValidator } from '../../services/runtime/validation';
import { benchRecord, type Figure } from '../report/figures';

const N = Number(process.env.BENCH_HEARTBEATS ?? 900_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 1);
const ENGINES = (process.env.BENCH_ENGINES ?? 'kafkajs,rdkafka').split(',') as Array<'kafkajs' | 'rdkafka'>;
type Signing = 'off' | 'required';
// BENCH_SIGNING (off,required): each engine runs unsigned (MESH_SIGNING=off, the fill unsigned) and signed, in the same run.
const SIGNING = (process.env.BENCH_SIGNING ?? 'off,required').split(',') as Signing[];
const MICRO = Number(process.env.BENCH_SIGN_MICRO ?? 20_000);
// BENCH_IMPL: another implementation directory to compare with (its index.ts), e.g. a copy of an older commit.
const impl: typeof current = process.env.BENCH_IMPL ? require(process.env.BENCH_IMPL) : current;
const BATCH = Number(process.env.BENCH_BATCH ?? impl.impedanceService.maxBatchRecords ?? 5000);
// BENCH_PROFILE=dir: a CPU profile of each service run only (not the fill or the raw consume), for chrome://inspect or speedscope.
const PROFILE = process.env.BENCH_PROFILE;
const IN_PROCESS = PROFILE !== undefined || process.env.BENCH_IMPL !== undefined;
const base = loadConfig(process.env);
const kafka = new Kafka(kafkajsConfig({ clientId: 'bench-impedance', brokers: base.kafkaBrokers, logLevel: logLevel.NOTHING }));


async function rawKafkajs(prefix: string): Promise<number> {
  const consumer = kafka.consumer({ groupId: `${prefix}raw-${randomBytes(3).toString('hex')}`, maxBytesPerPartition: 4 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic: `${prefix}mesh.heartbeats`, fromBeginning: true });
  let n = 0;
  let t0 = 0;
  const done = new Promise<number>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        if (t0 === 0) t0 = Date.now();
        n += batch.messages.length;
        if (n >= N) resolve(Date.now() - t0);
      },
    });
  });
  const ms = await done;
  await consumer.disconnect();
  return (N * 1000) / ms;
}

async function rawRdkafka(prefix: string): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const rd = require('node-rdkafka') as typeof Rd;
  const c = new rd.KafkaConsumer({ 'metadata.broker.list': base.kafkaBrokers.join(','), ...rdkafkaAuth(), 'group.id': `${prefix}raw-rd-${randomBytes(3).toString('hex')}`, 'enable.auto.commit': false, 'max.partition.fetch.bytes': FETCH_BYTES_PER_PARTITION }, { 'auto.offset.reset': 'earliest' });
  await new Promise<void>((res, rej) => c.connect({}, (e) => (e ? rej(e) : res())));
  c.setDefaultConsumeTimeout(100);
  c.subscribe([`${prefix}mesh.heartbeats`]);
  let n = 0;
  let t0 = 0;
  while (n < N) {
    // consume(n) with the service's n: the baseline is the client as the service drives it.
    const m = await new Promise<Rd.Message[]>((res, rej) => c.consume(BATCH, (e, ms) => (e ? rej(e) : res(ms))));
    if (m.length && t0 === 0) t0 = Date.now();
    n += m.length;
  }
  const ms = Date.now() - t0;
  await new Promise<void>((res) => c.disconnect(() => res()));
  return (N * 1000) / ms;
}


interface ServiceRun {
  readonly rate: number; readonly nodeCpuUs: number; readonly redisCpuUs: number; readonly brokerCpuUs: number | undefined;
  /** Agents written to Redis per heartbeat over the run, whole and summary entry only: what the Redis CPU pays for, free of other Redis clients' noise. */
  readonly writes: { readonly full: number; readonly summary: number };
}

const WRITES_LINE = /^solvermesh_impedance_registry_agent_writes_total\{[^}]*kind="(full|summary)"[^}]*\} (\d+)/gm;

/** Agents written by kind, from /metrics text. */
function writesIn(text: string): { full: number; summary: number } {
  const out = { full: 0, summary: 0 };
  for (const m of text.matchAll(WRITES_LINE)) out[m[1] as 'full' | 'summary'] += Number(m[2]);
  return out;
}

/** What a run's measurement needs of the service under test, however it runs. */
interface Measured {
  /** CPU seconds the service's node process(es) used so far. */
  nodeCpu(): number;
  /** Agents not yet written to Redis (after waiting for the writes under way). */
  registryBacklog(): Promise<number>;
  /** Agents written so far, by kind (its /metrics). */
  writes(): Promise<{ full: number; summary: number }>;
}

/**
 * Times the service from its first commit until every heartbeat is committed and Redis holds the
 * last state (a service catching up writes the registry every tenth of its backlog, and the end of
 * the backlog once quiet), with the CPU each process spent meanwhile.
 */
async function measure(prefix: string, svc: Measured): Promise<ServiceRun> {
  const admin = kafka.admin();
  await admin.connect();
  const topic = `${prefix}mesh.heartbeats`;
  const committed = async () => {
    const [t] = await admin.fetchOffsets({ groupId: `${prefix}solvermesh.impedance`, topics: [topic] });
    return (t?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  };
  const redis = new Redis(base.redisUrl, redisAuth());
  let first = 0;
  let firstAt = 0;
  let cpu0 = 0;
  let redis0 = 0;
  let broker0: number | undefined;
  for (;;) {
    const c = await committed();
    if (c > 0 && firstAt === 0) { first = c; firstAt = Date.now(); cpu0 = svc.nodeCpu(); redis0 = await redisCpu(redis); broker0 = brokerCpu(); }
    if (c >= N) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const give = Date.now() + 60_000; (await svc.registryBacklog()) > 0;) {
    if (Date.now() > give) throw new Error('unwritten registry changes remain 60 s after the last commit');
    await new Promise((r) => setTimeout(r, 10));
  }
  const rate = ((N - first) * 1000) / (Date.now() - firstAt);
  // CPU per heartbeat is steadier than the rate on a shared machine: the rate also pays for
  // whatever else runs, the CPU time only for these processes.
  const nodeCpuUs = (svc.nodeCpu() - cpu0) * 1e6 / (N - first);
  const redisCpuUs = ((await redisCpu(redis)) - redis0) * 1e6 / (N - first);
  const broker1 = brokerCpu();
  const brokerCpuUs = broker0 === undefined || broker1 === undefined ? undefined : (broker1 - broker0) * 1e6 / (N - first);
  const w = await svc.writes();
  await admin.disconnect();
  // The registry of this run is not needed any more.
  await unlinkPrefixed(redis, `${prefix}mesh:`);
  redis.disconnect();
  return { rate, nodeCpuUs, redisCpuUs, brokerCpuUs, writes: { full: w.full / N, summary: w.summary / N } };
}

/** The service in this process (what BENCH_PROFILE profiles). */
async function service(prefix: string, engine: 'kafkajs' | 'rdkafka', signing: Signing): Promise<ServiceRun> {
  const config = readServiceConfig(impl.impedanceService, { ...process.env, TOPIC_PREFIX: prefix, KAFKA_CLIENT: engine, LOG_LEVEL: 'warn', MESH_SIGNING: signing });
  const logger = createLogger('warn', 'bench-impedance');
  const metrics = createMetrics('bench', false);
  const codec = new EventCodec(config.schemaRegistryUrl);
  const validate = schemaValidator();
  const groupId = `${prefix}solvermesh.impedance`;
  // The service's processor, guard included (signatures when MESH_SIGNING=required, rate limits).
  const processor = await impl.impedanceService.processor(config, logger, { registry: metrics.registry, codec, validate, groupId }) as ReturnType<typeof impl.createImpedanceProcessor>;
  const runner = new ProcessorRunner({
    processor, engine: createEngine(config, logger), codec, metrics, logger,
    groupId, topicPrefix: prefix, maxRetries: 5, retryBackoffMs: 200, stallTimeoutMs: 60_000,
    maxBatchRecords: BATCH, validate,
  });
  await runner.start();
  const run = await measure(prefix, {
    nodeCpu: () => { const c = process.cpuUsage(); return (c.user + c.system) / 1e6; },
    registryBacklog: async () => { await processor.drain(); return processor.registryBacklog?.() ?? 0; },
    writes: async () => writesIn(await processor.metrics.registry.metrics()),
  });
  await runner.stop();
  await processor.close();
  return run;
}

/** Sums a gauge or counter line over the instances' /metrics. */
async function fromMetrics<T>(ports: readonly number[], read: (text: string, port: number) => T, add: (a: T, b: T) => T, zero: T): Promise<T> {
  let out = zero;
  for (const port of ports) out = add(out, read(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), port));
  return out;
}

const backlogIn = (text: string, port: number): number => {
  const m = /^solvermesh_impedance_registry_backlog(?:\{[^}]*\})? (\d+)/m.exec(text);
  if (!m) throw new Error(`instance on port ${port} reports no solvermesh_impedance_registry_backlog`);
  return Number(m[1]);
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The service as INSTANCES separate processes of one group, started as an operator starts it. */
async function serviceProcesses(prefix: string, engine: 'kafkajs' | 'rdkafka', signing: Signing): Promise<ServiceRun> {
  // Ports the system hands out now: fixed ones (19400...) met another bench's service on a shared machine.
  const ports = await Promise.all(Array.from({ length: INSTANCES }, () => freePort()));
  const children: ChildProcess[] = ports.map((port) => spawn(join(__dirname, '../../bin/solvermesh'), ['run', 'impedance'], {
    env: { ...process.env, TOPIC_PREFIX: prefix, KAFKA_CLIENT: engine, LOG_LEVEL: 'warn', HTTP_PORT: String(port), MESH_SIGNING: signing },
    stdio: ['ignore', 'ignore', 'inherit'],
  }));
  try {
    return await measure(prefix, {
      nodeCpu: () => children.reduce((s, c) => s + processCpu(c.pid!), 0),
      registryBacklog: () => fromMetrics(ports, backlogIn, (a, b) => a + b, 0),
      writes: () => fromMetrics(ports, writesIn, (a, b) => ({ full: a.full + b.full, summary: a.summary + b.summary }), { full: 0, summary: 0 }),
    });
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? once(c, 'exit') : undefined)));
  }
}

async function main(): Promise<void> {
  const results: Record<string, number[]> = {};
  const cpu: Record<string, { node: number[]; redis: number[]; broker: number[]; full: number[]; summary: number[] }> = {};
  const micro = signingMicroBench();
  const record = benchRecord('impedance', RUNS);
  for (let r = 0; r < RUNS; r++) {
    for (const engine of ENGINES) {
      for (const signing of SIGNING) {
        const prefix = `bench-imp-${Date.now().toString(36)}${randomBytes(2).toString('hex')}.`;
        const name = `${engine} ${signing === 'off' ? 'unsigned' : 'signed'}`;
        await fillHeartbeats(kafka, base.kafkaBrokers, base.schemaRegistryUrl, prefix, N, signing === 'required');
        (results[`raw ${name}`] ??= []).push(engine === 'kafkajs' ? await rawKafkajs(prefix) : await rawRdkafka(prefix));
        const session = PROFILE ? new Session() : undefined;
        if (session) { session.connect(); await session.post('Profiler.enable'); await session.post('Profiler.start'); }
        const run = IN_PROCESS ? await service(prefix, engine, signing) : await serviceProcesses(prefix, engine, signing);
        if (session) {
          const { profile } = await session.post('Profiler.stop');
          writeFileSync(`${PROFILE}/impedance-${engine}-${signing}-${r + 1}.cpuprofile`, JSON.stringify(profile));
          session.disconnect();
        }
        // Each run's namespace holds every mesh topic: leftovers pile up partitions on the broker.
        await deletePrefixedTopics(base.kafkaBrokers, prefix);
        (results[`impedance ${name}`] ??= []).push(run.rate);
        const c = (cpu[name] ??= { node: [], redis: [], broker: [], full: [], summary: [] });
        c.node.push(run.nodeCpuUs);
        c.redis.push(run.redisCpuUs);
        if (run.brokerCpuUs !== undefined) c.broker.push(run.brokerCpuUs);
        c.full.push(run.writes.full);
        c.summary.push(run.writes.summary);
        process.stderr.write(`run ${r + 1}/${RUNS} ${name}: raw ${Math.round(results[`raw ${name}`]!.at(-1)!)}/s, impedance ${Math.round(results[`impedance ${name}`]!.at(-1)!)}/s\n`);
      }
    }
  }
  for (const engine of ENGINES) {
    const signed = results[`impedance ${engine} signed`];
    const unsigned = results[`impedance ${engine} unsigned`];
    if (signed?.length && unsigned?.length) {
      process.stdout.write(`signing (MESH_SIGNING=required vs off), impedance ${engine}: signed/unsigned heartbeats/s = ${(median(signed) / median(unsigned)).toFixed(3)}; node CPU per heartbeat ${median(cpu[`${engine} signed`]!.node).toFixed(1)} vs ${median(cpu[`${engine} unsigned`]!.node).toFixed(1)} µs\n`);
    }
  }
  process.stdout.write(`per heartbeat, this process: encode ${micro.encodeUs.toFixed(2)} µs, sign (canonical body + Ed25519) ${micro.signUs.toFixed(2)} µs, verify (canonical body from the bytes + Ed25519) ${micro.verifyUs.toFixed(2)} µs; verify / encode = ${(micro.verifyUs / micro.encodeUs).toFixed(1)}\n`);
  process.stdout.write(`heartbeats per run: ${N} (30,000-agent mesh), batch <= ${BATCH} records, runs: ${RUNS}, service: ${IN_PROCESS ? 'inside the bench process' : `${INSTANCES} bin/solvermesh process${INSTANCES > 1 ? 'es' : ''}`}\n`);
  for (const [name, xs] of Object.entries(results)) {
    if (xs.length === 0) continue;
    process.stdout.write(`${name.padEnd(20)} median ${Math.round(median(xs)).toLocaleString('en-US').padStart(9)}/s   runs: ${xs.map((x) => Math.round(x)).join(', ')}\n`);
  }
  for (const [engine, c] of Object.entries(cpu)) {
    if (c.node.length === 0) continue;
    const runs = (xs: number[]) => `${median(xs).toFixed(1)} µs (runs ${xs.map((x) => x.toFixed(1)).join(', ')})`;
    process.stdout.write(`cpu per heartbeat, impedance ${engine}: node ${runs(c.node)}, redis-server ${runs(c.redis)}${c.broker.length ? `, kafka broker ${runs(c.broker)}` : ''}\n`);
    process.stdout.write(`  registry writes per heartbeat: ${median(c.full).toFixed(3)} agents whole, ${median(c.summary).toFixed(3)} summary entries only\n`);
    if (c.broker.length) {
      // What the three processes need together bounds the rate on this machine's cores,
      // whatever the overlap: the ceiling the measured CPU cost allows.
      const total = median(c.node) + median(c.redis) + median(c.broker);
      process.stdout.write(`  together ${total.toFixed(1)} µs per heartbeat: ${os.cpus().length} cores allow at most ${Math.round(os.cpus().length * 1e6 / total).toLocaleString('en-US')}/s at this cost\n`);
    }
  }
  const figures: Figure[] = [];
  const engines: Record<string, { raw: number; impedance: number }> = {};
  const section = `heartbeats, ${N.toLocaleString('en-US')} per run`;
  for (const engine of ENGINES) {
    for (const signing of SIGNING) {
      const name = `${engine} ${signing === 'off' ? 'unsigned' : 'signed'}`;
      const raw = results[`raw ${name}`] ?? [], imp = results[`impedance ${name}`] ?? [];
      if (imp.length === 0) continue;
      engines[name] = { raw: median(raw), impedance: median(imp) };
      figures.push({ section, name: `impedance ${name} heartbeats/s`, value: median(imp), unit: '/s', better: 'higher', runs: imp, baseline: { name: `raw consume ${engine}`, value: median(raw) } });
      const c = cpu[name];
      if (c && c.node.length > 0) figures.push({ section, name: `impedance ${name} node cpu per heartbeat`, value: median(c.node), unit: 'µs', better: 'lower', runs: c.node });
    }
    const signed = results[`impedance ${engine} signed`], unsigned = results[`impedance ${engine} unsigned`];
    if (signed?.length && unsigned?.length) {
      figures.push({ section, name: `impedance ${engine} signed heartbeats/s (vs unsigned)`, value: median(signed), unit: '/s', better: 'higher', runs: signed, baseline: { name: `impedance ${engine} unsigned`, value: median(unsigned) } });
    }
  }
  figures.push({ section: 'signing, per heartbeat in the bench process', name: 'sign + verify', value: micro.signUs + micro.verifyUs, unit: 'µs', better: 'lower', baseline: { name: 'Avro encode', value: micro.encodeUs } });
  record.done(figures, { engines });
  process.exit(0);
}

/** µs per heartbeat to encode, sign and verify in this process: the 30,000-agent mesh's first MICRO heartbeats. */
function signingMicroBench(): { encodeUs: number; signUs: number; verifyUs: number } {
  const schemas = loadEventSchemas();
  const type = schemas.get('HeartbeatReceived')!.type;
  const beats = [...meshHeartbeats(MICRO)];
  const keys = new Map(beats.map((b) => [b.agent_id, simulatedKey(b.agent_id)]));
  const signer = new MessageSigner(() => type);
  const time = (f: () => void) => { const t = process.hrtime.bigint(); f(); return Number(process.hrtime.bigint() - t) / 1e3 / beats.length; };
  time(() => { for (const b of beats.slice(0, 2000)) signer.sign(b, keys.get(b.agent_id)!); });
  const encodeUs = time(() => { for (const b of beats) type.toBuffer(b); });
  const signed: HeartbeatReceived[] = [];
  const signUs = time(() => { for (const b of beats) signed.push(signer.sign(b, keys.get(b.agent_id)!)); });
  const framed = signed.map((b) => frame(1, type.toBuffer(b)));
  let ok = 0;
  const verifyUs = time(() => {
    for (let i = 0; i < signed.length; i++) {
      const s = signed[i]!;
      if (verifyBytes(keys.get(s.agent_id)!.publicKey, canonicalOfFramed(framed[i]!, s.signature!)!, s.signature!.sig)) ok++;
    }
  });
  if (ok !== signed.length) throw new Error(`only ${ok} of ${signed.length} signatures verified`);
  return { encodeUs, signUs, verifyUs };
}

void main();
