// The orchestrator console's freeze, thaw and heal (seed 002 §7.1, Appendix B): each an event on
// mesh.circuits, then the wait until the impedance service has sequenced it into every partition
// of the topic its folds read (services/impedance/sequenced-copies.ts): freezes and thaws into
// mesh.coordination, after which every new request is refused, or scheduled again; heals into
// mesh.agent-acks, where each agent's quarantine is released. Exit codes: 0 in force; 1 bad
// input or no broker; 2 the event is in the log but not in force in time (is the impedance
// service running?); 3 already frozen / not frozen (nothing sent).
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import type { AgentStateChanged, MeshFrozen, MeshHealRequested, MeshThawed } from '../../../schemas/generated/events';
import { topicSpec } from '../../../topics/catalog';
import { evolveFreeze, THAWED, type FreezeEvent, type FreezeState } from '../../impedance/freeze';
import { EventCodec } from '../../runtime/codec';
import { loadConfig, type RuntimeConfig } from '../../runtime/config';
import { errorMessage } from '../../runtime/errors';
import { committedOffsets, endOffsets, readLog } from '../../runtime/kafka/log-reader';
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface HealFlags { agent: string[]; by: string; note?: string; wait: string }

/**
 * Sends the heal, waits for its copy in every mesh.agent-acks partition and for the impedance
 * group to have committed past each (the agents' state changes commit with that offset), then
 * reads the state changes the copies caused from mesh.impedance.
 */
export async function meshHeal(config: RuntimeConfig, o: HealFlags, out: (line: string) => void): Promise<void> {
  if (o.by.trim() === '') throw new Error('--by: name the operator');
  const waitS = waitSeconds(o.wait);
  const deadline = Date.now() + waitS * 1000;
  const acks = config.topicPrefix + 'mesh.agent-acks';
  const changelog = config.topicPrefix + 'mesh.impedance';
  await requireTopics(config.kafkaBrokers, [acks, changelog, config.topicPrefix + 'mesh.circuits']);
  const partitions = topicSpec('mesh.agent-acks').partitions;
  const [fromAcks, fromChangelog] = await Promise.all([endOffsets(config.kafkaBrokers, acks, partitions), endOffsets(config.kafkaBrokers, changelog, topicSpec('mesh.impedance').partitions)]);
  const heal: MeshHealRequested = {
    type: 'MeshHealRequested',
    meta: { event_id: randomUUID(), correlation_id: MESH_SCOPE, causation_id: null, occurred_at: Date.now() * 1000, producer: 'solvermesh-cli', sequence: null },
    operator: o.by, agent_ids: o.agent, detail: o.note ?? null,
  };
  const sender = await EventSender.connect(config);
  try {
    await sender.sendKeyed('mesh.circuits', [{ key: MESH_SCOPE, event: heal }]);
  } finally {
    await sender.close();
  }
  const copies = new Map<number, { offset: number; eventId: string }>();
  const codec = new EventCodec(config.schemaRegistryUrl);
  const notInForce = (what: string, err?: unknown) => new CliExit(EXIT_NOT_APPLIED,
    `MeshHealRequested ${heal.meta.event_id} is in ${config.topicPrefix}mesh.circuits but ${what} within ${waitS} s (is the impedance service running?)${err ? `. ${errorMessage(err)}` : ''}`);
  try {
    await readLog(config.kafkaBrokers, codec, fromAcks.map((f, p) => ({ topic: acks, partition: p, from: f })), {
      timeoutMs: Math.max(1, deadline - Date.now()),
      until: () => copies.size >= partitions,
      onRecord: (r) => { if (r.event?.type === 'MeshHealRequested' && r.event.meta.causation_id === heal.meta.event_id) copies.set(r.partition, { offset: r.offset, eventId: r.event.meta.event_id }); },
    });
  } catch (err) {
    throw notInForce(`sequenced into ${copies.size}/${partitions} agent-ack partitions`, err);
  }
  const group = `${config.topicPrefix}solvermesh.impedance`;
  const tps = [...copies.keys()].map((partition) => ({ topic: acks, partition }));
  for (;;) {
    const done = await committedOffsets(config.kafkaBrokers, group, tps);
    if ([...copies].every(([p, c]) => (done.get(`${acks}/${p}`) ?? -1) > c.offset)) break;
    if (Date.now() > deadline) throw notInForce('not folded by the impedance service');
    await sleep(100);
  }
  const ids = new Set([...copies.values()].map((c) => c.eventId));
  const released: AgentStateChanged[] = [];
  await readLog(config.kafkaBrokers, codec, fromChangelog.map((f, p) => ({ topic: changelog, partition: p, from: f })), {
    onRecord: (r) => { if (r.event?.type === 'AgentStateChanged' && ids.has(r.event.meta.causation_id ?? '')) released.push(r.event); },
  });
  released.sort((a, b) => (a.agent_id < b.agent_id ? -1 : 1));
  const scope = o.agent.length === 0 ? 'every agent' : `${o.agent.length} agent(s)`;
  const names = released.slice(0, 20).map((e) => `${e.agent_id} -> ${e.new_state}`).join(', ');
  out(`mesh healed by ${o.by} (${heal.meta.event_id}, ${scope}): ${released.length === 0 ? 'no agent was quarantined' : `${released.length} agent(s) released from quarantine: ${names}${released.length > 20 ? ', ...' : ''}`}; conflict streaks reset`);
}

export function registerConsole(mesh: Command): void {
  mesh
    .command('heal')
    .description('heal the mesh (MeshHealRequested): release agent quarantines and reset conflict streaks, and print the agents released. Exit 2: not in force in time')
    .option('--agent <id>', 'heal only this agent (repeatable); default every agent', (v: string, all: string[]) => [...all, v], [])
    .option('--by <operator>', 'who heals', process.env.USER ?? 'operator')
    .option('--note <text>', 'why')
    .option('--wait <s>', 'seconds to wait until the impedance service has folded it', '30')
    .action(async (o: HealFlags) => meshHeal(loadConfig(), o, (l) => process.stdout.write(`${l}\n`)));
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
