// The coordinator's conflict quarantine as the exactly-once probe of the broker-fault specs: one
// report in, one decision out, so a lost or repeated transaction shows as a missing or a second
// decision.
import assert from 'node:assert/strict';
import { coordinatorService } from '../../services/coordinator';
import { startService, type RunningService } from '../../services/runtime/service';
import { conflictReported } from '../support/events';
import type { TestKafka } from '../support/kafka';

export function startCoordinatorOn(k: TestKafka, engine: 'rdkafka' | 'kafkajs', instanceId: string): Promise<RunningService> {
  return startService(coordinatorService, {
    ...process.env, KAFKA_BROKERS: k.brokers.join(','), KAFKA_CLIENT: engine, TOPIC_PREFIX: k.prefix, HTTP_PORT: '0',
    LOG_LEVEL: process.env.SPEC_LOG_LEVEL ?? 'silent', INSTANCE_ID: instanceId,
  });
}

/** Reports `from` to `to` - 1 on mesh.conflicts. */
export const sendReports = (k: TestKafka, from: number, to: number) =>
  k.sendEvents('mesh.conflicts', Array.from({ length: to - from }, (_, i) => ({ key: `conflict-${from + i}`, event: conflictReported(from + i) })));

/**
 * Reads mesh.conflicts until it holds a quarantine per report: one decision each, none twice. (Not
 * a record count: deadline ticks and escalations of reports left waiting share the topic.)
 */
export async function assertOneDecisionEach(k: TestKafka, reports: number, timeoutMs: number): Promise<void> {
  const events = await k.collectEvents('mesh.conflicts', (es) => es.filter((e) => e.type === 'ConflictQuarantined').length >= reports, timeoutMs);
  const ids = events.filter((e) => e.type === 'ConflictQuarantined').map((q) => q.conflict_id);
  assert.equal(events.filter((e) => e.type === 'ConflictReported').length, reports);
  assert.equal(ids.length, reports);
  assert.equal(new Set(ids).size, reports);
}
