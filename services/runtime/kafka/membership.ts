// Consumer group membership, the same on both engines. Every consumer is a static member
// (KIP-345) under INSTANCE_ID, which a deployment keeps per process across restarts (a pod name):
// - kill -9, then a restart under the same id: the new process takes the dead member's place
//   and its partitions at once, without a rebalance and without waiting out the session;
// - SIGTERM (a stop, a scale-down): the in-flight batch commits and the member leaves the group,
//   so the others take its partitions at once;
// - a process that dies and does not come back, or comes back under another id: its partitions
//   wait for the session timeout, as a dynamic member's would.
// The transactional ids fence the dead process either way: rdkafka's is per instance
// (`<group>.<INSTANCE_ID>`, fenced when the restart initialises it), kafkajs's per input
// partition (fenced by whoever commits on that partition next).

/** A member that sends no heartbeat for this long is dropped from the group. */
export const SESSION_TIMEOUT_MS = 30_000;
