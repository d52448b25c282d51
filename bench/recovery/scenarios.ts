// What bench-recovery feeds each service and how it sees that an output reflects an input.
// Inputs are numbered in the order they are sent (a sequence); `reflected(seq)` resolves with
// the arrival time of the first output that reflects input `seq` or a later one:
//   solver:      cost updates (each flushes) on one session; an IterationCompleted whose
//                applied_through offset of solver.costs reaches the update's offset;
//   impedance:   a round of heartbeats of every agent (round r = the agents' heartbeat period
//                r); the registry in Redis holding some agent's heartbeat of round r or later;
//   coordinator: conflict reports; the ConflictQuarantined of report seq or a later one.
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { redisAuth } from '../../services/runtime/credentials';
import type { SolvermeshEvent } from '../../schemas/generated/events';
import type { EventCodec } from '../../services/runtime/codec';
import { unlinkPrefixed } from '../../services/impedance/registry-store';
import { registryPrefix } from '../../services/impedance';
import { buildMesh, heartbeat, NO_FAULTS, prng } from '../../services/simulator/generator';
import { costUpdated } from '../../services/solver/events';
import { applyTopics } from '../../topics/apply';
import { allTopicSpecs, SOLVER_PARTITIONS, MESH_PARTITIONS } from '../../topics/catalog';
import { poisson2d, smoothRhs } from '../../wasm/src/problems';
import { conflictReported } from '../../test/support/events';
import { benchConsumer, benchProducer, type BenchConsumer, type BenchProducer, type Sent } from '../solver-service/clients';
import { Coverage } from '../solver-service/measure';
import { freshTopics, openConverged } from '../solver-service/service';

export type ServiceName = 'solver' | 'impedance' | 'coordinator';

export interface Scenario {
  readonly service: ServiceName;
  /** Inputs per second while the bench runs. */
  readonly rate: number;
  /** The service process's environment beyond the bench's (knobs the scenario needs). */
  readonly env?: NodeJS.ProcessEnv;
  /** Topics, before the service starts. */
  prepare(): Promise<void>;
  /** Once the service runs: what the inputs need (an open session) and the output readers. */
  ready(): Promise<void>;
  send(seq: number): Promise<void>;
  /** Arrival time (performance.now()) of the first output reflecting input `seq` or a later one. */
  reflected(seq: number): Promise<number>;
  close(): Promise<void>;
}

export interface BenchContext {
  readonly brokers: string[];
  readonly codec: EventCodec;
  readonly redisUrl: string;
  readonly prefix: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Decoding is async and marks must keep arrival order: one chain per reader. */
function decodingConsumer(ctx: BenchContext, topic: string, partitions: number, onEvent: (at: number, event: SolvermeshEvent) => void): Promise<BenchConsumer> {
  let chain = Promise.resolve();
  return benchConsumer(ctx.brokers, ctx.prefix + topic, partitions, (rec) => {
    chain = chain.then(async () => onEvent(rec.at, (await ctx.codec.decode(rec.value)).event)).catch(() => undefined);
  });
}

export function solverScenario(ctx: BenchContext): Scenario {
  const sessionId = randomUUID();
  const a = poisson2d(40);
  const costs = `${ctx.prefix}solver.costs`;
  const coverage = new Coverage();
  const sent: Sent[] = [];
  let producer: BenchProducer | undefined;
  let iterations: BenchConsumer | undefined;
  return {
    service: 'solver',
    rate: 50,
    prepare: () => freshTopics(ctx.brokers, ctx.prefix),
    async ready() {
      producer = await benchProducer(ctx.brokers, { lingerMs: 0 });
      await openConverged(ctx.brokers, ctx.codec, producer, ctx.prefix, sessionId, a, smoothRhs(a.n), { producer: 'bench', occurredAt: Date.now() * 1000 });
      iterations = await decodingConsumer(ctx, 'solver.iterations', SOLVER_PARTITIONS, (at, it) => {
        if (it.type !== 'IterationCompleted' || it.session_id !== sessionId) return;
        coverage.mark(at, it.applied_through.find((p) => p.topic === 'solver.costs')?.offset ?? -1);
      });
    },
    async send(seq) {
      const i = (seq * 7919) % a.n;
      const e = costUpdated(sessionId, seq, { indices: [i], values: [((seq % 11) - 5) / 1000], flush: true, source: 'bench', occurredAt: Date.now() * 1000 });
      sent[seq] = producer!.send(costs, sessionId, await ctx.codec.encode(costs, e));
    },
    async reflected(seq) {
      while (!sent[seq] || sent[seq].offset < 0) await sleep(2);
      return coverage.covered(sent[seq].offset);
    },
    async close() {
      await iterations?.close();
      await producer?.close();
    },
  };
}

export function coordinatorScenario(ctx: BenchContext): Scenario {
  const topic = `${ctx.prefix}mesh.conflicts`;
  const coverage = new Coverage();
  let producer: BenchProducer | undefined;
  let conflicts: BenchConsumer | undefined;
  return {
    service: 'coordinator',
    rate: 50,
    // Its reports are unsigned, as the impedance scenario's heartbeats.
    env: { MESH_SIGNING: 'off' },
    // Every mesh topic, not only those this scenario feeds: the coordinator also reads cascades and
    // agent keys and writes coordination and agent-acks, and it never logged its port without them.
    prepare: async () => { await applyTopics(ctx.brokers, allTopicSpecs(ctx.prefix).filter((t) => t.name.startsWith(`${ctx.prefix}mesh.`))); },
    async ready() {
      producer = await benchProducer(ctx.brokers, { lingerMs: 0 });
      conflicts = await decodingConsumer(ctx, 'mesh.conflicts', MESH_PARTITIONS, (at, q) => {
        if (q.type === 'ConflictQuarantined') coverage.mark(at, Number(q.conflict_id.slice('conflict-'.length)));
      });
    },
    async send(seq) {
      const report = conflictReported(seq);
      producer!.send(topic, report.conflict_id, await ctx.codec.encode(topic, report));
    },
    reflected: (seq) => coverage.covered(seq),
    async close() {
      await conflicts?.close();
      await producer?.close();
    },
  };
}

const AGENTS = 30;
const PERIOD_US = 5_000_000;

export function impedanceScenario(ctx: BenchContext): Scenario {
  const topic = `${ctx.prefix}mesh.heartbeats`;
  const mesh = buildMesh(AGENTS, 3);
  const rand = prng(9);
  const startUs = Date.now() * 1000;
  const coverage = new Coverage();
  const summary = `${registryPrefix(ctx.prefix)}summary`;
  let producer: BenchProducer | undefined;
  let redis: Redis | undefined;
  let polling = true;
  let poller: Promise<void> | undefined;
  return {
    service: 'impedance',
    // Rounds per second; each is one heartbeat per agent (300 heartbeats/s).
    rate: 10,
    // Each round is a 5 s heartbeat period sent 100 ms apart: event time runs 50x ahead of the
    // records' timestamps, past the runtime's 5 min skew bound after 6 s of wall time, and every
    // heartbeat after that was dead-lettered (EVENT_TIME_SKEW) so no output ever reflected one.
    // The heartbeats are unsigned (no agent keys registered): signing off, as the impedance bench's
    // unsigned runs, or the service dead-letters them all (UNSIGNED).
    env: { MAX_EVENT_TIME_SKEW_MS: String(31_536_000_000), MESH_SIGNING: 'off' },
    prepare: async () => { await applyTopics(ctx.brokers, allTopicSpecs(ctx.prefix).filter((t) => t.name.startsWith(`${ctx.prefix}mesh.`))); },
    async ready() {
      producer = await benchProducer(ctx.brokers, { lingerMs: 0 });
      redis = new Redis(ctx.redisUrl, redisAuth());
      const r = redis;
      // The registry's summary entries: "score|state|last heartbeat (µs)|...", one per agent.
      poller = (async () => {
        while (polling) {
          const flat = (await r.call('HGETALL', summary)) as string[];
          let newest = -1;
          for (let i = 1; i < flat.length; i += 2) newest = Math.max(newest, Number(flat[i]!.split('|')[2]));
          if (newest >= 0) coverage.mark(performance.now(), Math.floor((newest - startUs) / PERIOD_US));
          await sleep(10);
        }
      })();
    },
    async send(round) {
      for (const agent of mesh) {
        const hb = heartbeat(agent, startUs, round, rand, NO_FAULTS, 'bench')!;
        producer!.send(topic, hb.agent_id, await ctx.codec.encode(topic, hb));
      }
    },
    reflected: (round) => coverage.covered(round),
    async close() {
      polling = false;
      await poller;
      await producer?.close();
      if (redis) await unlinkPrefixed(redis, registryPrefix(ctx.prefix));
      redis?.disconnect();
    },
  };
}

export const SCENARIOS: Record<ServiceName, (ctx: BenchContext) => Scenario> = {
  solver: solverScenario,
  impedance: impedanceScenario,
  coordinator: coordinatorScenario,
};
