// Static group membership (KIP-345) for kafkajs 2.2.4, which speaks JoinGroup v5 and its
// group_instance_id but never fills it in: its ConsumerGroup calls joinGroup without one
// (src/consumer/consumerGroup.js), so every kafkajs member is dynamic. This wraps the one
// request builder that carries the field: a JoinGroup sent while a consumer started through
// withGroupInstanceId() runs (its async context, rejoins included) carries that consumer's id.
//
// What kafkajs then does, and does not:
// - a restarted process under the same id is the same member: the coordinator hands it the
//   partitions it had, without a rebalance and without waiting out the dead member's session;
// - SyncGroup, Heartbeat and LeaveGroup go without the id, which the broker accepts (it checks
//   the id only when one is given), so a stopped kafkajs consumer still leaves at once
//   (disconnect() sends LeaveGroup with its member id), unlike librdkafka's static members;
// - two live processes under one id are not detected as a fatal error, as librdkafka does: each
//   fences the other in turn (UNKNOWN_MEMBER_ID, rejoin). INSTANCE_ID must be unique per process.
// The wrapper checks the module's shape and, if another kafkajs version changed it, leaves
// kafkajs as it is (dynamic members) and says so.
import { AsyncLocalStorage } from 'node:async_hooks';

interface JoinGroupRequests {
  versions: string[];
  protocol: (o: { version: number }) => (args: Record<string, unknown>) => unknown;
}

const instanceIds = new AsyncLocalStorage<string>();
let installed: boolean | undefined;

function install(): boolean {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const joinGroup = require('kafkajs/src/protocol/requests/joinGroup') as JoinGroupRequests;
    if (typeof joinGroup.protocol !== 'function' || !joinGroup.versions.includes('5')) return false;
    const original = joinGroup.protocol;
    joinGroup.protocol = ({ version }) => {
      const build = original({ version });
      return (args) => build({ ...args, groupInstanceId: args.groupInstanceId ?? instanceIds.getStore() ?? null });
    };
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `fn` (a consumer's connect/run) so that the JoinGroup requests it causes, now and at any
 * later rejoin, name `instanceId`. False when kafkajs could not be wrapped (members stay dynamic).
 */
export function withGroupInstanceId<T>(instanceId: string, fn: () => T): { result: T; static: boolean } {
  installed ??= install();
  return { result: instanceIds.run(instanceId, fn), static: installed };
}
