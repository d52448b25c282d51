// Shared by the impedance benches: fresh mesh.* topics under a prefix, filled with `n`
// heartbeats of a 30,000-agent mesh (the same records for every run). Each record's Kafka
// timestamp is when the mesh received the heartbeat (received_at, an hour ago): the topic holds
// a backlog, as it would for a service catching up, not records that look just written (which
// the service treats as the live edge: see IMPEDANCE_CAUGHT_UP_MS). BENCH_LIVE=1 stamps them now.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { Kafka, Partitioners } from 'kafkajs';
import type { HeartbeatReceived } from '../../schemas/generated/events';
import { allTopicSpecs } from '../../topics/catalog';
import { applyTopics } from '../../topics/apply';
import { buildMesh, heartbeat, NO_FAULTS, prng } from '../../services/simulator/generator';
import { EventCodec } from '../../services/runtime/codec';
import { meshIdentity } from '../../services/simulator/identity';

export const AGENTS = 30_000;

/** The benches' heartbeats: `n` of the 30,000-agent mesh (agent i mod 30,000, period i / 30,000), an hour old, the same every run. */
export function* meshHeartbeats(n: number): Generator<HeartbeatReceived> {
  const mesh = buildMesh(AGENTS, 1);
  const rand = prng(5);
  const start = Date.now() * 1000 - 3600 * 1_000_000;
  for (let i = 0; i < n; i++) yield heartbeat(mesh[i % AGENTS]!, start, Math.floor(i / AGENTS), rand, NO_FAULTS)!;
}

/** CPU seconds the Redis server has used so far (INFO cpu). */
export async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const v = (k: string) => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)?.[1] ?? 0);
  return v('used_cpu_user') + v('used_cpu_sys');
}

/** CPU seconds a process has used (utime + stime of /proc/<pid>/stat, in clock ticks of 10 ms). */
export function processCpu(pid: number | string): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised name: utime and stime are the 12th and 13th.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/**
 * CPU seconds the Kafka brokers started by infra/ (their pid files in .infra/run) have used so
 * far, or undefined when none is found (brokers started some other way).
 */
export function brokerCpu(runDir = join(__dirname, '../../.infra/run')): number | undefined {
  let pids: string[];
  try { pids = readdirSync(runDir).filter((f) => /^kafka-.*\.pid$/.test(f)).map((f) => readFileSync(join(runDir, f), 'utf8').trim()); } catch { return undefined; }
  let total = 0;
  let found = false;
  for (const pid of pids) {
    try { total += processCpu(pid); found = true; } catch { /* a pid file of a broker that is gone */ }
  }
  return found ? total : undefined;
}

/** `signed`: the agents' keys registered first and every heartbeat signed, as the simulator does. */
export async function fillHeartbeats(kafka: Kafka, brokers: string[], registryUrl: string, prefix: string, n: number, signed = false): Promise<void> {
  await applyTopics(brokers, allTopicSpecs(prefix).filter((t) => t.name.startsWith(`${prefix}mesh.`)));
  const codec = new EventCodec(registryUrl);
  const topic = `${prefix}mesh.heartbeats`;
  const signer = signed ? await meshIdentity({ meshSigning: 'required', kafkaBrokers: brokers, topicPrefix: prefix, clientId: 'bench' }, codec, buildMesh(30_000, 1).map((a) => a.agentId)) : undefined;
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const live = process.env.BENCH_LIVE === '1';
  let batch: Array<{ key: string; value: Buffer; timestamp?: string }> = [];
  for (const hb of meshHeartbeats(n)) {
    const value = await codec.encode(topic, signer ? signer.sign(hb) : hb);
    batch.push(live ? { key: hb.agent_id, value } : { key: hb.agent_id, value, timestamp: String(Math.floor(hb.received_at / 1000)) });
    if (batch.length === 10_000) { await producer.send({ topic, acks: -1, messages: batch }); batch = []; }
  }
  if (batch.length) await producer.send({ topic, acks: -1, messages: batch });
  await producer.disconnect();
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
