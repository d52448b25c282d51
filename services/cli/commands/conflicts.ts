// `solvermesh conflicts`: the conflict log (mesh.conflicts) folded into one line per conflict;
// `conflicts resolve <id> --by <operator>`: the operator's resolution as a command event, then
// the coordinator's answer. Exit codes: 0 done; 1 bad input or no broker; 2 the command is in
// the log but no ConflictResolved came in time (is the coordinator running?); 3 the conflict is
// unknown or already resolved (nothing sent).
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import {
  CONFLICT_TYPE_SYMBOLS, RESOLUTION_METHOD_SYMBOLS, type ConflictResolutionRequested, type ConflictResolved, type ConflictType, type ResolutionMethod,
} from '../../../schemas/generated/events';
import { MESH_PARTITIONS } from '../../../topics/catalog';
import { ConflictProjection, conflictTable, parseSince, type ConflictFilter } from '../../coordinator/conflict-projection';
import { EventCodec } from '../../runtime/codec';
import { loadConfig, type RuntimeConfig } from '../../runtime/config';
import { errorMessage } from '../../runtime/errors';
import { endOffsets, readLog } from '../../runtime/kafka/log-reader';
import { EventSender } from '../event-sender';
import { CliExit } from '../exit';
import { requireTopics } from '../topic-check';

const TOPIC = 'mesh.conflicts';
export const EXIT_NOT_ANSWERED = 2;
export const EXIT_PRECONDITION = 3;

function oneOf<T extends string>(flag: string, v: string, all: readonly T[]): T {
  const u = v.toUpperCase();
  if (!(all as readonly string[]).includes(u)) throw new Error(`${flag} ${JSON.stringify(v)}: use one of ${all.join(', ')}`);
  return u as T;
}

/** Folds the whole conflict log through the filter. */
export async function readConflicts(config: RuntimeConfig, filter: ConflictFilter): Promise<ConflictProjection> {
  const topic = config.topicPrefix + TOPIC;
  await requireTopics(config.kafkaBrokers, [topic]);
  const projection = new ConflictProjection(filter);
  const codec = new EventCodec(config.schemaRegistryUrl);
  await readLog(config.kafkaBrokers, codec, [...Array(MESH_PARTITIONS).keys()].map((p) => ({ topic, partition: p, from: 0 })), {
    onRecord: (r) => projection.fold(r.event),
  });
  return projection;
}

interface ListFlags { agent?: string; type?: string; since?: string; open?: boolean; json?: boolean }

async function list(o: ListFlags): Promise<void> {
  const filter: ConflictFilter = {
    ...(o.agent !== undefined ? { agent: o.agent } : {}),
    ...(o.type !== undefined ? { type: oneOf<ConflictType>('--type', o.type, CONFLICT_TYPE_SYMBOLS) } : {}),
    ...(o.since !== undefined ? { sinceUs: parseSince(o.since, Date.now() * 1000) } : {}),
    ...(o.open ? { open: true } : {}),
  };
  const rows = (await readConflicts(loadConfig(), filter)).list();
  if (o.json) {
    for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  if (rows.length === 0) {
    process.stderr.write('no conflicts match\n');
    return;
  }
  for (const line of conflictTable(rows)) process.stdout.write(`${line}\n`);
}

interface ResolveFlags { by: string; note?: string; method?: string; value?: string; wait: string; json?: boolean }

export async function resolveConflict(config: RuntimeConfig, id: string, o: ResolveFlags, out: (line: string) => void): Promise<void> {
  if (o.by.trim() === '') throw new Error('--by: name the operator who resolves it');
  const method = o.method === undefined ? null : oneOf<ResolutionMethod>('--method', o.method, RESOLUTION_METHOD_SYMBOLS);
  const waitS = Number(o.wait);
  if (!(waitS > 0)) throw new Error(`--wait ${o.wait}: give a number of seconds > 0`);
  const known = (await readConflicts(config, { conflictId: id })).get(id);
  if (!known) throw new CliExit(EXIT_PRECONDITION, `conflict ${id} is not in ${config.topicPrefix}${TOPIC}; nothing was sent`);
  if (known.status === 'RESOLVED') throw new CliExit(EXIT_PRECONDITION, `conflict ${id} was already resolved by ${known.resolved_by} (${known.method} ${known.outcome}); nothing was sent`);
  const cmd: ConflictResolutionRequested = {
    type: 'ConflictResolutionRequested',
    meta: { event_id: randomUUID(), correlation_id: id, causation_id: null, occurred_at: Date.now() * 1000, producer: 'solvermesh-cli', sequence: null },
    conflict_id: id, operator: o.by, method, resolved_value: o.value ?? null, notes: o.note ?? null,
  };
  const topic = config.topicPrefix + TOPIC;
  const from = await endOffsets(config.kafkaBrokers, topic, MESH_PARTITIONS);
  const sender = await EventSender.connect(config);
  try {
    await sender.sendKeyed(TOPIC, [{ key: id, event: cmd }]);
  } finally {
    await sender.close();
  }
  let resolved: ConflictResolved | undefined;
  const codec = new EventCodec(config.schemaRegistryUrl);
  try {
    await readLog(config.kafkaBrokers, codec, from.map((f, p) => ({ topic, partition: p, from: f })), {
      timeoutMs: waitS * 1000,
      until: () => resolved !== undefined,
      onRecord: (r) => { if (r.event?.type === 'ConflictResolved' && r.event.conflict_id === id) resolved = r.event; },
    });
  } catch (err) {
    throw new CliExit(EXIT_NOT_ANSWERED, `no ConflictResolved for ${id} within ${waitS} s (is the coordinator running?); the command ${cmd.meta.event_id} is in the log. ${errorMessage(err)}`);
  }
  const r = resolved!;
  if (o.json) { out(JSON.stringify(r, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : v))); return; }
  // Another resolution may have landed first in the conflict's partition: say whose counts.
  const mine = r.meta.causation_id === cmd.meta.event_id;
  out(`conflict ${id} ${r.outcome} by ${r.resolved_by} (${r.method})${mine ? '' : ', before this command reached it'}${r.notes ? `: ${r.notes}` : ''}`);
  if (!mine) throw new CliExit(EXIT_PRECONDITION, `conflict ${id} was resolved by ${r.resolved_by} before ${o.by}'s command`);
}

export function register(program: Command): void {
  const conflicts = program
    .command('conflicts')
    .description('the conflict log (seed 002 §5.1): one line per conflict with its priority, strategy, deadline, escalations and resolution')
    .option('--agent <id>', 'only conflicts reported by this agent')
    .option('--type <t>', `only this conflict type: ${CONFLICT_TYPE_SYMBOLS.join(', ')}`)
    .option('--since <t>', 'only conflicts reported since: 30m, 2h, 1d (ago), an ISO time, or µs since the epoch')
    .option('--open', 'only conflicts not resolved yet')
    .option('--json', 'one JSON object per conflict (NDJSON)')
    .action(async (o: ListFlags) => list(o));
  conflicts
    .command('resolve <id>')
    .description('resolve a quarantined conflict as an operator (ConflictResolutionRequested), and print the coordinator\'s ConflictResolved. Exit 2: no answer in time; 3: unknown or already resolved')
    .requiredOption('--by <operator>', 'who resolves it')
    .option('--note <text>', 'a note kept with the resolution')
    .option('--method <m>', `method used (default: the suggested strategy): ${RESOLUTION_METHOD_SYMBOLS.join(', ')}`)
    .option('--value <v>', 'the value kept, as text')
    .option('--wait <s>', 'seconds to wait for the coordinator\'s answer', '30')
    .option('--json', 'print the ConflictResolved event as JSON')
    .action(async (id: string, o: ResolveFlags) => resolveConflict(loadConfig(), id, o, (l) => process.stdout.write(`${l}\n`)));
}
