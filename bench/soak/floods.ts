// One flood class at a time (issue 15's "peak RSS under each flood"): a fresh set of topics, the
// flood put on the log first, then the one service that reads it started on it alone (as `make
// soak`'s other runs start them); its peak RSS (VmHWM) once its group has committed past the
// whole flood, to set against the same service's no-flood run. The bound each class meets is the
// service's own limit, named in `bound`.
import { randomBytes, randomUUID } from 'node:crypto';
import { MAX_PENDING_ACK_AGENTS } from '../../services/impedance/partition-fold';
import { MAX_SELECTORS } from '../../services/impedance/schedule-reactor';
import { coordinationRequested } from '../../services/impedance/coordination';
import { DEFAULT_UNKNOWN_ID_POLICY } from '../../services/runtime/unknown-schema-ids';
import { frame, HEADER_SIZE } from '../../services/runtime/wire-format';
import { costUpdated } from '../../services/solver/events';
import { DEFAULT_SOLVER_LIMITS as SOLVER_LIMITS } from '../../services/solver/limits';
import { readLog } from '../../services/runtime/kafka/log-reader';
import { dlqName } from '../../topics/catalog';
import { conflictReported } from '../../test/support/events';
import { groupOf, peakRssKb } from '../../test/support/fuzz';
import { TestKafka, waitFor } from '../../test/support/kafka';
import { startRun } from '../../test/int/solver/support';
import { ackOf, hb } from '../../test/unit/impedance/helpers';

type Raw = { key: string; value: Buffer };

export interface FloodClass {
  readonly name: string;
  readonly service: string;
  readonly topic: string;
  /** The limit that bounds what the service keeps of this flood. */
  readonly bound: string;
  /** Records put on the log before the flood (a mesh for the selectors to reach). */
  readonly before?: (k: TestKafka) => Promise<void>;
  readonly records: (k: TestKafka, n: number) => Promise<Raw[]>;
  /** Topics whose every record the service's group must commit past (a transactional one ends with a marker). */
  readonly drains: ReadonlyArray<{ topic: string; transactional?: boolean }>;
  /** Records of this class per `n` of the others (big ones are fewer). */
  readonly share?: number;
}

const nowUs = () => Date.now() * 1000;
const mesh = (i: number) => `S000-C0${i % 4}-A${String(i).padStart(4, '0')}`;

export const FLOODS: readonly FloodClass[] = [
  {
    name: 'orphans: costs of sessions never opened', service: 'solver', topic: 'solver.costs',
    bound: `SOLVER_MAX_ORPHANS (${SOLVER_LIMITS.maxOrphans.toLocaleString('en')} records per partition, then the DLQ)`,
    records: async (k, n) => {
      const at = nowUs();
      const out: Raw[] = [];
      for (let s = 0; out.length < n; s++) {
        const sid = randomUUID();
        for (let i = 0; i < 10 && out.length < n; i++) {
          out.push({ key: sid, value: await k.codec.encode(k.topic('solver.costs'), costUpdated(sid, i, { indices: [i], values: [1], occurredAt: at })) });
        }
      }
      return out;
    },
    drains: [{ topic: 'solver.costs' }],
  },
  {
    name: 'orphans: acks of agents never heard from', service: 'impedance', topic: 'mesh.acks',
    bound: `IMPEDANCE_MAX_PENDING_ACK_AGENTS (${MAX_PENDING_ACK_AGENTS.toLocaleString('en')} agents per partition, then the DLQ)`,
    records: async (k, n) => {
      const at = nowUs();
      return Promise.all(Array.from({ length: n }, async (_, i) => {
        const ack = ackOf({ agent: `S000-C00-G${i}`, at: at + i, message: `m-${i}` });
        return { key: ack.meta.correlation_id, value: await k.codec.encode(k.topic('mesh.acks'), ack) };
      }));
    },
    drains: [{ topic: 'mesh.acks' }, { topic: 'mesh.agent-acks', transactional: true }],
  },
  {
    name: 'selector amplification: one selector 5,000 times, or more distinct ones than allowed', service: 'impedance', topic: 'mesh.coordination',
    bound: `MAX_SELECTORS (${MAX_SELECTORS} distinct per request, then the DLQ); a repeated one resolved once`,
    share: 1 / 100,
    before: async (k) => {
      const at = nowUs();
      await k.sendEvents('mesh.heartbeats', Array.from({ length: 200 }, (_, i) => ({ key: mesh(i), event: hb({ agent: mesh(i), at, cluster: mesh(i).slice(0, 8), sector: 'S000' }) })), { unsigned: true });
    },
    records: async (k, n) => Promise.all(Array.from({ length: n }, async (_, i) => {
      const targets = i % 2 === 0 ? Array<string>(5_000).fill('sector:S000') : Array.from({ length: MAX_SELECTORS + 1 }, (_, j) => `cluster:S000-C${j}`);
      const req = coordinationRequested({ targets, arrivalAtUs: nowUs() + 60_000_000, nowUs: nowUs(), windowMs: 500, source: 'soak' });
      return { key: req.meta.correlation_id, value: await k.codec.encode(k.topic('mesh.coordination'), req) };
    })),
    drains: [{ topic: 'mesh.coordination' }],
  },
  {
    name: 'oversized: 2 MiB (the topic allows 4 MiB) and 990 kB', service: 'coordinator', topic: 'mesh.conflicts',
    bound: 'MAX_RECORD_BYTES (1,000,000: a larger record is not decoded; its dead letter is cut to fit)',
    share: 1 / 400,
    before: async (k) => {
      const admin = k.kafka.admin();
      await admin.connect();
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: k.topic('mesh.conflicts'), configEntries: [{ name: 'max.message.bytes', value: String(4 * 1024 * 1024) }] }] });
      await admin.disconnect();
    },
    records: async (_k, n) => Array.from({ length: n }, (_, i) => ({ key: `conflict-${i}`, value: randomBytes(i % 2 === 0 ? 2 * 1024 * 1024 : 990_000) })),
    drains: [{ topic: 'mesh.conflicts' }],
  },
  {
    name: 'unknown schema ids (one made-up id per record)', service: 'coordinator', topic: 'mesh.conflicts',
    // Past the lookup budget each waits for a listing of the topic's subjects: ~15 records a second here.
    share: 2 / 5,
    bound: `the unknown-id table (${DEFAULT_UNKNOWN_ID_POLICY.capacity.toLocaleString('en')} ids) and its lookup budget (${DEFAULT_UNKNOWN_ID_POLICY.missBurst} at once, ${DEFAULT_UNKNOWN_ID_POLICY.missesPerSecond}/s)`,
    records: async (k, n) => {
      const body = (await k.codec.encode(k.topic('mesh.conflicts'), conflictReported(1))).subarray(HEADER_SIZE);
      return Array.from({ length: n }, (_, i) => ({ key: `conflict-${i}`, value: frame(1_500_000_000 + i, body) })); // far above any id the registry has issued
    },
    drains: [{ topic: 'mesh.conflicts' }],
  },
  {
    name: 'raw bytes (random, 0-64 bytes)', service: 'solver', topic: 'solver.costs',
    bound: 'none held: each is a dead letter at once',
    records: async (_k, n) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: randomBytes(i % 65) })),
    drains: [{ topic: 'solver.costs' }],
  },
];

export interface FloodRun { readonly flood: FloodClass; readonly records: number; readonly peakKb: number; readonly drainMs: number; readonly deadLetters: number; readonly crashed: boolean }

/** Sends in chunks of at most ~4 MB (one broker request each). */
async function sendAll(k: TestKafka, topic: string, records: readonly Raw[]): Promise<void> {
  let chunk: Raw[] = [];
  let bytes = 0;
  for (const r of records) {
    if (chunk.length > 0 && (bytes + r.value.length > 4_000_000 || chunk.length >= 500)) { await k.sendRaw(topic, chunk); chunk = []; bytes = 0; }
    chunk.push(r);
    bytes += r.value.length;
  }
  if (chunk.length > 0) await k.sendRaw(topic, chunk);
}

export async function floodRss(flood: FloodClass, n: number, log: (m: string) => void, timeoutMs = 300_000): Promise<FloodRun> {
  const k = await TestKafka.create(`soak-flood-${flood.service}`);
  // Unsigned: the acks are orphans whatever their signature (MESH_SIGNING=off, the switch for load runs).
  const env = { LOG_LEVEL: 'error', INSTANCE_ID: `soak-flood-${flood.service}`, MESH_SIGNING: 'off' };
  const count = Math.max(2, Math.round(n * (flood.share ?? 1)));
  let child: ReturnType<typeof startRun> | undefined;
  try {
    await flood.before?.(k);
    await sendAll(k, flood.topic, await flood.records(k, count));
    log(`flood "${flood.name}": ${count} records on ${flood.topic}; starting the ${flood.service}`);
    const t0 = Date.now();
    child = startRun(k, [flood.service], env);
    const group = groupOf(k, flood.service, env);
    const admin = k.kafka.admin();
    await admin.connect();
    try {
      await waitFor(async () => {
        for (const d of flood.drains) {
          const ends = await admin.fetchTopicOffsets(k.topic(d.topic));
          const [got] = await admin.fetchOffsets({ groupId: group, topics: [k.topic(d.topic)] });
          const behind = ends.some((e) => Number(e.high) > Number(e.low)
            && Number(got?.partitions.find((p) => p.partition === e.partition)?.offset ?? -1) < Number(e.high) - (d.transactional ? 1 : 0));
          if (behind) return false;
        }
        return true;
      }, timeoutMs, `the ${flood.service} past the flood`);
      const drainMs = Date.now() - t0;
      const crashed = child.proc.exitCode !== null || child.proc.signalCode !== null;
      const peakKb = crashed ? NaN : peakRssKb(child.proc.pid!);
      // Read, not the DLQ's end offset: dead letters are written in transactions, whose markers take offsets too.
      const dead = await readLog(k.brokers, k.codec, flood.drains.map((d) => ({ topic: k.topic(dlqName(d.topic)), partition: 0, from: 0 })), { decode: false });
      const deadLetters = dead.length;
      return { flood, records: count, peakKb, drainMs, deadLetters, crashed };
    } finally {
      await admin.disconnect();
    }
  } finally {
    if (child && child.proc.exitCode === null) { child.proc.kill('SIGTERM'); await Promise.race([child.exited, new Promise((r) => setTimeout(r, 10_000))]); if (child.proc.exitCode === null) child.proc.kill('SIGKILL'); }
    await k.close();
  }
}
