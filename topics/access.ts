// Who may read and write what, as data (issue 20): one Kafka principal per service with the
// topics it consumes (its processor's inputs, and what its restore reads back) and the topics it
// produces. `aclBindings` turns it into the broker's ACLs for a TOPIC_PREFIX; `solvermesh acls
// apply` writes them. A topic a service neither reads nor writes here is refused to it by the
// broker (allow.everyone.if.no.acl.found=false), so a compromised simulator cannot write costs.
import { AclOperationTypes as Op, AclPermissionTypes, AclResourceTypes as Res, ResourcePatternTypes as Pattern, type AclEntry } from 'kafkajs';
import { dlqName, type TopicName } from './catalog';

export interface ServiceAccess {
  /** The SASL/SCRAM user name, and the Redis and registry user of the same service. */
  readonly principal: string;
  readonly doc: string;
  /** Topics it consumes: its processor's inputs and what its restore reads. */
  readonly reads: readonly TopicName[];
  /** Topics it produces. A processor also writes the dead letters of its inputs (`dlqOfInputs`). */
  readonly writes: readonly TopicName[];
  /** Inputs whose `<topic>.dlq` it writes (the runner dead-letters what it cannot process). */
  readonly dlqOfInputs: readonly TopicName[];
  /**
   * Consumer groups (after TOPIC_PREFIX), each also the prefix of its transactional ids
   * (`<group>.<instance>` on rdkafka, `<group>.<topic>.<partition>` on kafkajs). A name ending
   * in `.` is a prefix: the verifier runs one group per verifier group.
   */
  readonly groups: readonly string[];
  /** Consumer groups (after TOPIC_PREFIX) without transactions; a trailing `-` makes a prefix. */
  readonly plainGroups?: readonly string[];
  /** Groups it only describes (the gateway asks whether a verifier group has members). */
  readonly describesGroups?: readonly string[];
  /** Private, unprefixed group-id prefixes of one-off readers (log readers, followers, agents). */
  readonly readerGroups: readonly string[];
}

/** Group-id prefixes of the runtime's log readers (services/runtime/kafka/log-reader.ts). */
const LOG_READERS = ['solvermesh-reader-', 'solver-wm-', 'solvermesh-wm-'];

export const SERVICE_ACCESS: readonly ServiceAccess[] = [
  {
    principal: 'solver', doc: 'Reads its inputs and its snapshots; writes only its outputs and the sequenced copies.',
    reads: ['solver.sessions', 'solver.costs', 'solver.commands', 'solver.verifications', 'solver.snapshots'],
    writes: ['solver.iterations', 'solver.solutions', 'solver.snapshots', 'solver.sessions', 'solver.costs', 'solver.commands', 'mesh.conflicts'],
    dlqOfInputs: ['solver.sessions', 'solver.costs', 'solver.commands', 'solver.verifications'],
    groups: ['solvermesh.solver'], readerGroups: LOG_READERS,
  },
  {
    principal: 'verifier', doc: 'Reads sessions, costs and solutions; writes votes and corrections.',
    reads: ['solver.sessions', 'solver.costs', 'solver.solutions', 'solver.verifications', 'solver.commands'],
    writes: ['solver.verifications', 'solver.commands'],
    dlqOfInputs: ['solver.sessions', 'solver.costs', 'solver.solutions'],
    groups: ['solvermesh.verifier.'], readerGroups: LOG_READERS,
  },
  {
    principal: 'consensus', doc: 'Reads votes; writes deadlines and consensus results on the same topic.',
    reads: ['solver.verifications'], writes: ['solver.verifications'], dlqOfInputs: ['solver.verifications'],
    groups: ['solvermesh.consensus'], readerGroups: LOG_READERS,
  },
  {
    principal: 'coordinator', doc: 'Reads schedules, acks, conflicts and cascades; writes dispatches, ticks, gathers, conflict facts, cascade facts and the stages\' coordination requests.',
    reads: ['mesh.schedules', 'mesh.acks', 'mesh.conflicts', 'mesh.cascades'],
    writes: ['mesh.dispatch', 'mesh.schedules', 'mesh.acks', 'mesh.conflicts', 'mesh.cascades', 'mesh.coordination'],
    dlqOfInputs: ['mesh.schedules', 'mesh.acks', 'mesh.conflicts', 'mesh.cascades'],
    groups: ['solvermesh.coordinator'], readerGroups: LOG_READERS,
  },
  {
    principal: 'guardian', doc: 'Reads agent states, summaries and witnesses; writes breakers, modes and witnesses.',
    reads: ['mesh.impedance', 'mesh.summaries', 'mesh.witnesses', 'mesh.guardian'],
    writes: ['mesh.guardian', 'mesh.circuits', 'mesh.witnesses'],
    dlqOfInputs: ['mesh.impedance', 'mesh.summaries', 'mesh.witnesses', 'mesh.guardian'],
    groups: ['solvermesh.guardian'], readerGroups: LOG_READERS,
  },
  {
    principal: 'impedance', doc: 'Reads heartbeats, coordination, acks and circuits; writes the registry changelog, summaries, schedules and re-keyed acks.',
    reads: ['mesh.heartbeats', 'mesh.coordination', 'mesh.acks', 'mesh.agent-acks', 'mesh.circuits', 'mesh.impedance'],
    writes: ['mesh.impedance', 'mesh.summaries', 'mesh.schedules', 'mesh.agent-acks', 'mesh.coordination'],
    dlqOfInputs: ['mesh.heartbeats', 'mesh.coordination', 'mesh.acks', 'mesh.agent-acks', 'mesh.circuits'],
    groups: ['solvermesh.impedance'], readerGroups: LOG_READERS,
  },
  {
    principal: 'gateway', doc: 'Follows what it streams; writes sessions, costs, commands and joins (heartbeats). The MCP server runs as it.',
    reads: ['solver.sessions', 'solver.costs', 'solver.iterations', 'solver.verifications', 'mesh.conflicts', 'mesh.summaries', 'mesh.circuits'],
    writes: ['solver.sessions', 'solver.costs', 'solver.commands', 'mesh.heartbeats'],
    dlqOfInputs: [], groups: [], describesGroups: ['solvermesh.verifier.'], readerGroups: ['solvermesh-gateway-'],
  },
  {
    principal: 'simulator', doc: 'Agents: reads what is dispatched to them; writes only heartbeats and acks.',
    reads: ['mesh.dispatch'], writes: ['mesh.heartbeats', 'mesh.acks'], dlqOfInputs: [],
    // Its agents' groups are `<prefix>simulator-agents-<random>` (services/simulator/sim.ts).
    groups: [], plainGroups: ['simulator-agents-'], readerGroups: [],
  },
];

/** Super users of the secured brokers (server.properties super.users), not given ACLs. */
export const SUPER_USERS = ['broker', 'controller', 'operator'] as const;

/** The schema registry's own principal: its kafkasql journal, snapshots and consumer groups. */
export const REGISTRY_ACCESS = { principal: 'registry', topicPrefixes: ['kafkasql-', 'registry-'], groupPrefixes: ['apicurio-'] } as const;

export function accessOf(principal: string): ServiceAccess {
  const a = SERVICE_ACCESS.find((s) => s.principal === principal);
  if (!a) throw new Error(`no access declared for ${principal}; known: ${SERVICE_ACCESS.map((s) => s.principal).join(', ')}`);
  return a;
}

const allow = (principal: string, resourceType: Res, resourceName: string, resourcePatternType: Pattern, operation: Op): AclEntry => ({
  principal: `User:${principal}`, host: '*', permissionType: AclPermissionTypes.ALLOW, resourceType, resourceName, resourcePatternType, operation,
});

/** A group name: a trailing `.` or `-` makes it a prefix pattern. */
const groupPattern = (name: string) => (/[.-]$/.test(name) ? Pattern.PREFIXED : Pattern.LITERAL);

/** Every ACL of one service for the topics and groups under `prefix`. */
export function serviceAcls(a: ServiceAccess, prefix: string): AclEntry[] {
  const out: AclEntry[] = [];
  for (const t of new Set(a.reads)) out.push(allow(a.principal, Res.TOPIC, prefix + t, Pattern.LITERAL, Op.READ));
  const written = new Set<string>([...a.writes, ...a.dlqOfInputs.map(dlqName)]);
  for (const t of written) out.push(allow(a.principal, Res.TOPIC, prefix + t, Pattern.LITERAL, Op.WRITE));
  for (const g of a.groups) {
    const name = prefix + g;
    out.push(allow(a.principal, Res.GROUP, name, groupPattern(g), Op.READ));
    // Transactional ids are `<group>.<...>`: a literal group gets the prefix `<group>.`.
    const txn = name.endsWith('.') ? name : `${name}.`;
    out.push(allow(a.principal, Res.TRANSACTIONAL_ID, txn, Pattern.PREFIXED, Op.WRITE));
    out.push(allow(a.principal, Res.TRANSACTIONAL_ID, txn, Pattern.PREFIXED, Op.DESCRIBE));
  }
  for (const g of a.describesGroups ?? []) out.push(allow(a.principal, Res.GROUP, prefix + g, groupPattern(g), Op.DESCRIBE));
  for (const g of a.readerGroups) out.push(allow(a.principal, Res.GROUP, g, Pattern.PREFIXED, Op.READ));
  for (const g of a.plainGroups ?? []) out.push(allow(a.principal, Res.GROUP, prefix + g, groupPattern(g), Op.READ));
  // Idempotent producers (every producer here is one) need it on the cluster.
  out.push(allow(a.principal, Res.CLUSTER, 'kafka-cluster', Pattern.LITERAL, Op.IDEMPOTENT_WRITE));
  return out;
}

/** The registry's ACLs: they do not depend on TOPIC_PREFIX. */
export function registryAcls(): AclEntry[] {
  const p = REGISTRY_ACCESS.principal;
  return [
    ...REGISTRY_ACCESS.topicPrefixes.flatMap((t) => [Op.READ, Op.WRITE, Op.CREATE, Op.DESCRIBE, Op.DESCRIBE_CONFIGS].map((op) => allow(p, Res.TOPIC, t, Pattern.PREFIXED, op))),
    ...REGISTRY_ACCESS.groupPrefixes.map((g) => allow(p, Res.GROUP, g, Pattern.PREFIXED, Op.READ)),
    allow(p, Res.CLUSTER, 'kafka-cluster', Pattern.LITERAL, Op.IDEMPOTENT_WRITE),
    allow(p, Res.CLUSTER, 'kafka-cluster', Pattern.LITERAL, Op.DESCRIBE),
  ];
}

/** Every service's ACLs under `prefix`. */
export function aclBindings(prefix: string): AclEntry[] {
  return SERVICE_ACCESS.flatMap((a) => serviceAcls(a, prefix));
}
