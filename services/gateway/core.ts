// What the gateway and `solvermesh mcp` both stand on: one consumer folding the log into the
// session projection and stream hub, a producer (EventSender), Redis (rate-limit counters, the
// impedance registry), and whether a verifier group is consuming now.
import { Kafka, logLevel } from 'kafkajs';
import { kafkajsConfig, redisAuth } from '../runtime/credentials';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { topicSpec } from '../../topics/catalog';
import { EventSender } from '../cli/event-sender';
import { EventCodec } from '../runtime/codec';
import type { RuntimeConfig } from '../runtime/config';
import { errorMessage } from '../runtime/errors';
import { FOLDED_TOPICS, Hub } from './hub';
import { followLog, type LogFollower } from './log-follower';
import type { GatewayMetrics } from './metrics';

export interface GatewayCore {
  readonly hub: Hub;
  readonly follower: LogFollower;
  readonly sender: EventSender;
  readonly redis: Redis;
  /** Whether a verifier service is consuming verification requests now. */
  verifierRunning(): Promise<boolean>;
  close(): Promise<void>;
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => { setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref(); })]);
}

export async function startCore(runtime: RuntimeConfig, logger: Logger, metrics: GatewayMetrics, historyCap: number): Promise<GatewayCore> {
  const codec = new EventCodec(runtime.schemaRegistryUrl);
  const hub = new Hub(historyCap);
  const follower = await followLog({
    brokers: runtime.kafkaBrokers, codec, prefix: runtime.topicPrefix, logger,
    topics: FOLDED_TOPICS.map((t) => ({ name: t, partitions: topicSpec(t).partitions })),
    onRecord: (r) => { metrics.recordsFollowed.inc(); hub.onRecord(r); },
  });
  // HTTP and MCP callers wait on each record's ack, and a stream's latency starts at the send: no
  // linger, and delivery reports read every 2 ms (the engine's default 50 ms is for throughput).
  const sender = await EventSender.connect(runtime, { lingerMs: 0, deliveryPollMs: 2 });
  const redis = new Redis(runtime.redisUrl, { ...redisAuth(), maxRetriesPerRequest: 1, connectTimeout: 5_000 });
  redis.on('error', (err) => logger.warn({ err: errorMessage(err) }, 'redis'));
  const kafka = new Kafka(kafkajsConfig({ clientId: 'solvermesh-gateway', brokers: runtime.kafkaBrokers, logLevel: logLevel.NOTHING }));
  const admin = kafka.admin();
  let adminReady: Promise<void> | undefined;

  const verifierRunning = async () => {
    try {
      adminReady ??= admin.connect();
      await adminReady;
      // One consumer group per verifier group (services/verifier: <prefix>solvermesh.verifier.<group>).
      const mine = `${runtime.topicPrefix}solvermesh.verifier.`;
      const listed = await withTimeout(admin.listGroups(), 3_000, 'list consumer groups');
      const ids = listed.groups.map((g) => g.groupId).filter((id) => id.startsWith(mine));
      if (ids.length === 0) return false;
      const { groups } = await withTimeout(admin.describeGroups(ids), 3_000, 'describe verifier groups');
      return groups.some((g) => g.members.length > 0);
    } catch {
      adminReady = undefined;
      return false;
    }
  };

  return {
    hub, follower, sender, redis, verifierRunning,
    close: async () => {
      // node-rdkafka's consumer disconnect can hang (seen in make demo after a stream ended): the
      // follower commits nothing, so a bounded wait loses nothing and the producer still flushes.
      await withTimeout(follower.close(), 5_000, 'log follower disconnect').catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'shutdown: going on without it'));
      await sender.close().catch(() => undefined);
      if (adminReady) await admin.disconnect().catch(() => undefined);
      redis.disconnect();
    },
  };
}
