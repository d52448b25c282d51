// `solvermesh mesh approve [correlation_id] --by <operator>`: an operator's approval of one
// coordination (seed 002 §6.3 DEGRADED_SEVERE), a CoordinationApproved on mesh.coordination keyed
// by the correlation id, so it lands in the partition the request will and comes before it
// (services/impedance/coordination-gate.ts). Without an id, a new one is approved and printed, to
// send the request under (`mesh coordinate --correlation-id <id>`).
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import type { CoordinationApproved } from '../../../schemas/generated/events';
import { loadConfig, type RuntimeConfig } from '../../runtime/config';
import { EventSender } from '../event-sender';

export function coordinationApproved(correlationId: string, by: string, reason: string, nowUs: number): CoordinationApproved {
  if (by.trim() === '') throw new Error('--by: name the operator who approves it');
  if (correlationId.trim() === '') throw new Error('give the correlation id to approve, or none for a new one');
  return {
    type: 'CoordinationApproved',
    meta: { event_id: randomUUID(), correlation_id: correlationId, causation_id: null, occurred_at: nowUs, producer: 'solvermesh-cli', sequence: null },
    approved_by: by, reason,
  };
}

export async function meshApprove(config: RuntimeConfig, id: string | undefined, o: { by: string; reason: string }): Promise<string> {
  const e = coordinationApproved(id ?? randomUUID(), o.by, o.reason, Date.now() * 1000);
  const sender = await EventSender.connect(config);
  try {
    await sender.sendKeyed('mesh.coordination', [{ key: e.meta.correlation_id, event: e }]);
  } finally {
    await sender.close();
  }
  return e.meta.correlation_id;
}

export function registerApprove(mesh: Command): void {
  mesh
    .command('approve [correlation_id]')
    .description('approve one coordination as an operator (CoordinationApproved): in DEGRADED_SEVERE a request is scheduled only under an approved correlation id (send it with mesh coordinate --correlation-id); prints the id')
    .requiredOption('--by <operator>', 'who approves it')
    .option('--reason <text>', 'why', '')
    .action(async (id: string | undefined, o: { by: string; reason: string }) => {
      process.stdout.write(`${await meshApprove(loadConfig(), id, o)}\n`);
    });
}
