// `make demo`, conflicts part: starts the coordinator as its own process, pushes conflict
// reports (one of each seed 002 §5.1 type) and a garbage record through Kafka, and prints what
// comes out: quarantine and escalation decisions, and the dead letter.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { kafkajsConfig } from '../runtime/credentials';
import type { ConflictEscalated, ConflictQuarantined, ConflictReported, ConflictType } from '../../schemas/generated/events';
import { EventCodec } from '../runtime/codec';
import { loadConfig } from '../runtime/config';
import { DLQ_HEADERS } from '../runtime/dead-letter';
import { startService } from './service-process';

const TOPIC = 'mesh.conflicts';
const TYPES: ConflictType[] = ['CONTEXT_DIVERGENCE', 'DATA_CONTRADICTION', 'TEMPORAL_PARADOX', 'CAPABILITY_MISMATCH', 'HASH_MISMATCH'];

export const say = (line: string) => process.stdout.write(`${line}\n`);

export async function runConflictsDemo(): Promise<void> {
  const config = loadConfig();
  const topic = config.topicPrefix + TOPIC;
  const codec = new EventCodec(config.schemaRegistryUrl);
  const kafka = new Kafka(kafkajsConfig({ clientId: 'solvermesh-demo', brokers: config.kafkaBrokers, logLevel: logLevel.NOTHING }));

  say('== starting the coordinator service (solvermesh run coordinator)');
  const service = startService('coordinator', { LOG_LEVEL: 'info' });

  const run = randomUUID().slice(0, 8);
  const reports: ConflictReported[] = TYPES.map((t, i) => ({
    type: 'ConflictReported',
    meta: { event_id: randomUUID(), correlation_id: `demo-${run}`, causation_id: null, occurred_at: Date.now() * 1000, producer: 'demo', sequence: null },
    conflict_id: `demo-${run}-${i}`,
    agent_id: `agent-${100 + i}`,
    message_id: `msg-${run}-${i}`,
    sector_id: 'sector-7',
    cluster_id: 'cluster-42',
    detail: {
      conflict_type: t, expected_value: 'v1', received_value: 'v2', context_hash: 'c0ffee',
      divergence_depth: t === 'CONTEXT_DIVERGENCE' ? 12 : null, affects_agent_count: t === 'DATA_CONTRADICTION' ? 40 : null, conflicting_data: null,
    },
    forgery: null,
    applied_through: null,
  }));

  const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  say(`== producing ${reports.length} ConflictReported events and one garbage record to ${topic}`);
  const messages = await Promise.all(reports.map(async (r) => ({ key: r.conflict_id, value: await codec.encode(topic, r) })));
  await producer.send({ topic, acks: -1, messages: [...messages, { key: `demo-${run}-garbage`, value: Buffer.from('not an Avro record') }] });
  for (const r of reports) say(`  -> ${r.conflict_id} ${r.detail.conflict_type} from ${r.agent_id}`);
  await producer.disconnect();

  const ids = new Set(reports.map((r) => r.meta.event_id));
  const expected = reports.length + 2 + 2 + 1; // one quarantine each; escalations: 1 + 2 + 2 - see decideConflict
  const outputs: Array<{ event: ConflictQuarantined | ConflictEscalated; schemaId: number }> = [];
  let deadLetter: Record<string, string> | undefined;
  const consumer = kafka.consumer({ groupId: `solvermesh-demo-${run}`, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic, `${topic}.dlq`], fromBeginning: true });
  const deadline = Date.now() + 90_000;
  await consumer.run({
    eachMessage: async ({ topic: t, message }) => {
      if (t.endsWith('.dlq')) {
        if (message.key?.toString() === `demo-${run}-garbage`) {
          deadLetter = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        }
        return;
      }
      const decoded = await codec.decode(message.value).catch(() => undefined);
      const e = decoded?.event;
      if (decoded && (e?.type === 'ConflictQuarantined' || e?.type === 'ConflictEscalated') && e.meta.causation_id && ids.has(e.meta.causation_id)) {
        outputs.push({ event: e, schemaId: decoded.schemaId });
      }
    },
  });
  // Every report's quarantine, and all but one escalation (the deadline escalation of one may
  // still be pending): stopping at a count alone once left a quarantine unread.
  const quarantines = () => outputs.filter((o) => o.event.type === 'ConflictQuarantined').length;
  while ((outputs.length < expected - 1 || quarantines() < reports.length || !deadLetter) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await consumer.disconnect();

  say(`== ${outputs.length} events came out of the coordinator (Confluent wire format, schema ids from the registry)`);
  for (const { event: e, schemaId } of outputs) {
    if (e.type === 'ConflictQuarantined') {
      say(`  <- [schema ${schemaId}] ConflictQuarantined ${e.conflict_id} priority=${e.priority} strategy=${e.suggested_strategy.method}`);
    } else {
      say(`  <- [schema ${schemaId}] ConflictEscalated  ${e.conflict_id} priority=${e.priority} to=${e.level}`);
    }
  }
  if (deadLetter) {
    say(`  <- dead letter on ${topic}.dlq: ${deadLetter[DLQ_HEADERS.errorClass]}: ${deadLetter[DLQ_HEADERS.errorMessage]} (from partition ${deadLetter[DLQ_HEADERS.sourcePartition]} offset ${deadLetter[DLQ_HEADERS.sourceOffset]})`);
  }

  const code = await service.stop();
  say(`== coordinator drained and exited with code ${code}`);
  const quarantined = quarantines();
  if (quarantined !== reports.length || !deadLetter || code !== 0) {
    process.stderr.write(service.log().slice(-4000));
    throw new Error(`demo incomplete: ${quarantined}/${reports.length} quarantined, dead letter ${deadLetter ? 'seen' : 'missing'}, service exit ${code}`);
  }
}
