// The orchestrator console's freeze and thaw (seed 002 §7.1, Appendix B): each an event on
// mesh.circuits, then the wait until the impedance service has sequenced it into every
// mesh.coordination partition (services/impedance/freeze.ts), after which every new request is
// refused, or scheduled again. Exit codes: 0 in force; 1 bad input or no broker; 2 the event is
// in the log but not sequenced in time (is the impedance service running?); 3 already frozen /
// not frozen (nothing sent).
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import type { MeshFrozen, MeshThawed } from '../../../schemas/generated/events';
import { topicSpec } from '../../../topics/catalog';
import { evolveFreeze, THAWED, type FreezeEvent, type FreezeState } from '../../impedance/freeze';
import { EventCodec } from '../../runtime/codec';
import { loadConfig, type RuntimeConfig } from '../../runtime/config';
import { errorMessage } from '../../runtime/errors';
import { endOffsets, readLog } from '../../runtime/kafka/log-reader';
import { EventSender } from '../event-sender';
import { CliExit } from '../exit';
import { requireTopics } from '../topic-check';

export const EXIT_NOT_APPLIED = 2;
export const EXIT_PRECONDITION = 3;
/** mesh.circuits is keyed by scope: the mesh-wide freeze is one key, so freezes and thaws keep their order. */
const MESH_SCOPE = 'mesh';

const iso = (us: number) => new Date(Math.floor(us / 1000)).toISOString();

/** The freeze in force as the commands on mesh.circuits say (not the copies). */
export async function currentFreeze(config: RuntimeConfig): Promise<FreezeState> {
  const topic = config.topicPrefix + 'mesh.circuits';
  await requireTopics(config.kafkaBrokers, [topic, config.topicPrefix + 'mesh.coordination']);
  let s: FreezeState = THAWED;
  const codec = new EventCodec(config.schemaRegistryUrl);
  await readLog(config.kafkaBrokers, codec, [...Array(topicSpec('mesh.circuits').partitions).keys()].map((p) => ({ topic, partition: p, from: 0 })), {
    onRecord: (r) => { if (r.event?.type === 'MeshFrozen' || r.event?.type === 'MeshThawed') s = evolveFreeze(s, r.event); },
  });
  return s;
}

/** Sends the event and waits until a copy of it stands in every mesh.coordination partition. */
async function sendSequenced(config: RuntimeConfig, e: FreezeEvent, waitS: number): Promise<number> {
  const coordination = config.topicPrefix + 'mesh.coordination';
  const partitions = topicSpec('mesh.coordination').partitions;
  const from = await endOffsets(config.kafkaBrokers, coordination, partitions);
  const sender = await EventSender.connect(config);
  try {
    await sender.sendKeyed('mesh.circuits', [{ key: MESH_SCOPE, event: e }]);
  } finally {
    await sender.close();
  }
  const seen = new Set<number>();
  try {
    await readLog(config.kafkaBrokers, new EventCodec(config.schemaRegistryUrl), from.map((f, p) => ({ topic: coordination, partition: p, from: f })), {
      timeoutMs: waitS * 1000,
      until: () => seen.size >= partitions,
      onRecord: (r) => { if (r.event?.type === e.type && r.event.meta.causation_id === e.meta.event_id) seen.add(r.partition); },
    });
  } catch (err) {
    throw new CliExit(EXIT_NOT_APPLIED, `${e.type} ${e.meta.event_id} is in ${config.topicPrefix}mesh.circuits but sequenced into ${seen.size}/${partitions} coordination partitions within ${waitS} s (is the impedance service running?). ${errorMessage(err)}`);
  }
  return partitions;
}

function waitSeconds(v: string): number {
  const n = Number(v);
  if (!(n > 0)) throw new Error(`--wait ${v}: give a number of seconds > 0`);
  return n;
}

export async function meshFreeze(config: RuntimeConfig, o: { reason: string; wait: string }, out: (line: string) => void): Promise<void> {
  if (o.reason.trim() === '') throw new Error('--reason: say why the mesh is frozen');
  const waitS = waitSeconds(o.wait);
  const now = await currentFreeze(config);
  if (now.status === 'frozen') throw new CliExit(EXIT_PRECONDITION, `the mesh is already frozen since ${iso(now.since)} (${now.reason}: ${now.detail}); nothing was sent`);
  const e: MeshFrozen = {
    type: 'MeshFrozen',
    meta: { event_id: randomUUID(), correlation_id: MESH_SCOPE, causation_id: null, occurred_at: Date.now() * 1000, producer: 'solvermesh-cli', sequence: null },
    // An operator's freeze counts no coordinator peers: it does not come from a partition.
    reason: 'OPERATOR', reachable_peers: 0, total_peers: 0, detail: o.reason,
  };
  const n = await sendSequenced(config, e, waitS);
  out(`mesh frozen at ${iso(e.meta.occurred_at)} (${e.meta.event_id}): in force on ${n}/${n} coordination partitions; new coordinations are refused with MESH_FROZEN until 'solvermesh mesh thaw'`);
}

export async function meshThaw(config: RuntimeConfig, o: { reason?: string; wait: string }, out: (line: string) => void): Promise<void> {
  const waitS = waitSeconds(o.wait);
  const now = await currentFreeze(config);
  if (now.status !== 'frozen') throw new CliExit(EXIT_PRECONDITION, 'the mesh is not frozen; nothing was sent');
  const at = Date.now() * 1000;
  const e: MeshThawed = {
    type: 'MeshThawed',
    meta: { event_id: randomUUID(), correlation_id: MESH_SCOPE, causation_id: now.freezeId, occurred_at: at, producer: 'solvermesh-cli', sequence: null },
    reason: now.reason, frozen_at: now.since, reachable_peers: 0, total_peers: 0, detail: o.reason ?? 'operator thaw',
  };
  const n = await sendSequenced(config, e, waitS);
  out(`mesh thawed at ${iso(at)} after ${((at - now.since) / 1e6).toFixed(1)} s frozen (${now.detail}): in force on ${n}/${n} coordination partitions`);
}

export function registerConsole(mesh: Command): void {
  mesh
    .command('freeze')
    .description('freeze the mesh (MeshFrozen): new coordinations are refused with MESH_FROZEN. Exit 2: not in force in time; 3: already frozen')
    .requiredOption('--reason <text>', 'why')
    .option('--wait <s>', 'seconds to wait until every coordination partition has it', '30')
    .action(async (o: { reason: string; wait: string }) => meshFreeze(loadConfig(), o, (l) => process.stdout.write(`${l}\n`)));
  mesh
    .command('thaw')
    .description('thaw a frozen mesh (MeshThawed): coordinations are scheduled again. Exit 2: not in force in time; 3: not frozen')
    .option('--reason <text>', 'why now')
    .option('--wait <s>', 'seconds to wait until every coordination partition has it', '30')
    .action(async (o: { reason?: string; wait: string }) => meshThaw(loadConfig(), o, (l) => process.stdout.write(`${l}\n`)));
}
