// Helpers for the impedance integration specs: a private Redis (for FLUSHALL and outages; the
// shared one is never flushed), a registry dump to compare, the service started in-process,
// a wait for the service's group to have committed everything produced, and the world most
// specs share (topics, that Redis, a client, the service they start).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import Redis from 'ioredis';
import type { HeartbeatReceived, SolvermeshEvent } from '../../../schemas/generated/events';
import { impedanceService, registryPrefix } from '../../../services/impedance';
import { startService, type RunningService } from '../../../services/runtime/service';
import { TestKafka, waitFor } from '../../support/kafka';
import { hb, S } from '../../unit/impedance/helpers';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export class PrivateRedis {
  private proc: ChildProcess | undefined;
  constructor(readonly port: number) {}
  get url(): string { return `redis://127.0.0.1:${this.port}`; }

  async start(): Promise<void> {
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    await waitFor(async () => {
      try { await probe.connect(); return (await probe.ping()) === 'PONG'; } catch { return false; }
    }, 10_000, `redis-server on ${this.port}`);
    probe.disconnect();
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }
}

/** What an impedance spec runs against. The fields are set by the `before` hook of `useImpedanceWorld`. */
export class ImpedanceWorld {
  k!: TestKafka;
  redisSrv!: PrivateRedis;
  redis!: Redis;
  /** The service's registry keys in `redis`. */
  prefix!: string;
  /** The service under test: the spec starts it; `after` stops it first. */
  svc: RunningService | undefined;
  /** More instances in the same group, stopped after `svc`, in order. */
  readonly svcs: RunningService[] = [];
}

/**
 * Registers the hooks of the current describe: `before` creates topics under `label`, starts a
 * private Redis and connects a client; `after` stops the services, then the client, Redis and
 * the topics. `connect: false` leaves `redis` for the spec to connect: the outage spec stops
 * this Redis before it needs a client.
 */
export function useImpedanceWorld(label: string, opts: { connect?: boolean } = {}): ImpedanceWorld {
  const w = new ImpedanceWorld();
  before(async () => {
    w.k = await TestKafka.create(label);
    w.redisSrv = new PrivateRedis(await freePort());
    await w.redisSrv.start();
    if (opts.connect !== false) w.redis = new Redis(w.redisSrv.url);
    w.prefix = registryPrefix(w.k.prefix);
  });
  after(async () => {
    await w.svc?.stop();
    for (const s of w.svcs) await s.stop();
    w.redis?.disconnect();
    await w.redisSrv?.stop();
    await w.k?.close();
  });
  return w;
}

/** Every key under the prefix with its content, markers, remembered schedules and the write positions (with their accuracy counts) left out. */
export async function dumpRegistry(redis: Redis, prefix: string): Promise<Record<string, unknown>> {
  // Progress markers and counters, not the registry: `watermarks` is how far the summaries' entries were written, by wall time
  // too; `summarypos` how far the partitions' folds were when they were (a rebuild writes the same entries from elsewhere).
  // `summaryacc` the folds' accuracy counts at those positions (written with them only).
  const keys = (await redis.keys(`${prefix}*`)).filter((k) => !/:(built|sched):/.test(k.slice(prefix.length - 1))
    && k !== `${prefix}watermarks` && k !== `${prefix}summarypos` && k !== `${prefix}summaryacc`);
  keys.sort();
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const type = await redis.type(k);
    const name = k.slice(prefix.length);
    if (type === 'hash') {
      // An agent's `pos` says from how far its partition's fold it was written: a rebuild writes the same values from elsewhere.
      const { pos: _pos, ...h } = await redis.hgetall(k);
      out[name] = name.startsWith('agent:') ? h : { ...h, ...(_pos === undefined ? {} : { pos: _pos }) };
    }
    else if (type === 'zset') out[name] = await redis.zrange(k, 0, -1, 'WITHSCORES');
    else out[name] = await redis.get(k);
  }
  return out;
}

export async function startImpedance(k: TestKafka, redisUrl: string, extra: NodeJS.ProcessEnv = {}): Promise<RunningService> {
  return startService(impedanceService, {
    ...process.env, TOPIC_PREFIX: k.prefix, REDIS_URL: redisUrl, HTTP_PORT: '0', LOG_LEVEL: 'warn', ...extra,
  });
}

/**
 * Starts the service with coalescing knobs (IMPEDANCE_*) in its environment. Specs that read the
 * changelog right after catching up ask for a checkpoint every batch (IMPEDANCE_CHECKPOINT_MS=0);
 * the default is every 10 s.
 */
export async function startImpedanceWith(k: TestKafka, redisUrl: string, knobs: Record<string, string>, extra: NodeJS.ProcessEnv = {}): Promise<RunningService> {
  return startImpedance(k, redisUrl, { ...knobs, ...extra });
}

/**
 * Waits until the impedance group is stable with `members` members: a spec that needs the work
 * split must not send before the second instance joined (the first alone would take it all).
 */
export async function waitGroupMembers(k: TestKafka, members: number, timeoutMs = 60_000): Promise<void> {
  const admin = k.kafka.admin();
  await admin.connect();
  try {
    await waitFor(async () => {
      const { groups } = await admin.describeGroups([`${k.prefix}solvermesh.impedance`]);
      return groups[0]?.state === 'Stable' && groups[0].members.length === members;
    }, timeoutMs, `the impedance group stable with ${members} members`);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Waits until the impedance group (or another service's) committed every record of `topic`. A topic written in
 * transactions (mesh.agent-acks, by the service itself) ends with a commit marker the consumer
 * never sees as a record: there the group is caught up one offset below the end.
 */
export async function waitCaughtUp(k: TestKafka, topic: string, timeoutMs = 60_000, transactional = false, service = 'impedance'): Promise<void> {
  const admin = k.kafka.admin();
  await admin.connect();
  try {
    const physical = k.topic(topic);
    let ends: Awaited<ReturnType<typeof admin.fetchTopicOffsets>> | undefined;
    await waitFor(async () => {
      let committed;
      try {
        // Ends read once; a loaded broker may answer NOT_LEADER for a moment, and a group whose
        // coordinator just moved NOT_COORDINATOR (a broker killed or restarted): asked again.
        ends ??= await admin.fetchTopicOffsets(physical);
        [committed] = await admin.fetchOffsets({ groupId: `${k.prefix}solvermesh.${service}`, topics: [physical] });
      } catch (err) {
        if ((err as { retriable?: boolean }).retriable) return false;
        throw err;
      }
      return ends.every((e) => {
        const c = committed?.partitions.find((p) => p.partition === e.partition);
        return Number(e.high) === Number(e.low) || Number(c?.offset ?? -1) >= Number(e.high) - (transactional ? 1 : 0);
      });
    }, timeoutMs, `the ${service} service to commit all of ${topic}`);
  } finally {
    await admin.disconnect();
  }
}

/** Reads `topic` from the beginning, decoding as records arrive, until `done` holds. */
export async function collectEvents(k: TestKafka, topic: string, done: (events: SolvermeshEvent[]) => boolean, timeoutMs = 30_000): Promise<SolvermeshEvent[]> {
  const events: SolvermeshEvent[] = [];
  const consumer = k.kafka.consumer({ groupId: `${k.prefix}events-${Math.random().toString(36).slice(2)}`, readUncommitted: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: k.topic(topic), fromBeginning: true });
    let finish!: () => void;
    const finished = new Promise<void>((r) => (finish = r));
    await consumer.run({
      eachMessage: async ({ message }) => {
        events.push((await k.codec.decode(message.value)).event);
        if (done(events)) finish();
      },
    });
    if (done(events)) finish();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); });
    const outcome = await Promise.race([finished.then(() => 'done' as const), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') throw new Error(`collectEvents(${topic}) timed out after ${timeoutMs} ms with ${events.length} events`);
    return events;
  } finally {
    await consumer.disconnect();
  }
}

/** Round `r` of a steady stream: one heartbeat of each of `agents` agents of sector S001, 5 s after the round before, from `T` (µs). */
export function heartbeatRound(T: number, agents: number, r: number): HeartbeatReceived[] {
  return Array.from({ length: agents }, (_, i) => hb({
    agent: `S001-C0${i % 4}-A${String(i).padStart(2, '0')}`, at: T + r * 5 * S + i * 1000, cluster: `S001-C0${i % 4}`, sector: 'S001',
    cls: i % 2 ? 'CLASS_A_EDGE' : 'CLASS_B_SERVERLESS', latency: 10 + ((i * 7 + r * 13) % 40), processing: 5 + ((i + r) % 9), queue: r % 3,
  }));
}
