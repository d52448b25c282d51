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
  /** Verifies signed agent messages (services/runtime/message-guard.ts): `SIGNING.verifier`'s access. */
  readonly verifiesSignatures?: boolean;
  /** Registers agent keys (services/identity/key-publisher.ts): `SIGNING.registrar`'s access. */
  readonly registersKeys?: boolean;
}

/** Group-id prefixes of the runtime's log readers (services/runtime/kafka/log-reader.ts). */
const LOG_READERS = ['solvermesh-reader-', 'solver-wm-', 'solvermesh-wm-'];

/**
 * What signing takes (issue 20): a verifier reads the keys topic and reports refusals as
 * conflicts and abuse as witnesses; a registrar reads the key book, then appends to it. Both read
 * through the runtime's log reader. A unit spec ties the names to the guard's and the key source's.
 */
export const SIGNING = {
  keys: 'mesh.agent-keys',
  verifier: { reads: ['mesh.agent-keys'], writes: ['mesh.conflicts', 'mesh.witnesses'], readerGroups: LOG_READERS },
  registrar: { reads: ['mesh.agent-keys'], writes: ['mesh.agent-keys'], readerGroups: LOG_READERS },
} as const satisfies { keys: TopicName; verifier: object; registrar: object };

/**
 * The topics that carry signed messages. A verifier reads back the dead letters it wrote for
 * them: on assignment the message guard starts from the last sequences it took, which are the
 * signed records below its committed offset less those it dead-lettered (runtime/last-seen-restore.ts).
 */
export const SIGNED_TOPICS: readonly TopicName[] = ['mesh.heartbeats', 'mesh.acks', 'solver.verifications'];

/**
 * Where every service the runtime runs (one with a consumer group) writes its structural
 * observations: its consumer's lag spikes, and the solver's slow slices (services/runtime/structural.ts
 * STRUCTURAL_TOPIC; a unit spec ties the two).
 */
export const OBSERVATIONS: TopicName = 'mesh.witnesses';

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
    groups: ['solvermesh.verifier.'], readerGroups: LOG_READERS, registersKeys: true,
  },
  {
    principal: 'consensus', doc: 'Reads votes; writes deadlines and consensus results on the same topic.',
    reads: ['solver.verifications'], writes: ['solver.verifications'], dlqOfInputs: ['solver.verifications'],
    groups: ['solvermesh.consensus'], readerGroups: LOG_READERS, verifiesSignatures: true,
  },
  {
    principal: 'coordinator', doc: 'Reads schedules, acks, conflicts and cascades; writes dispatches, ticks, gathers, conflict facts, cascade facts, the stages\' coordination requests, and reports of acks only their agent could have signed (onto mesh.agent-acks).',
    reads: ['mesh.schedules', 'mesh.acks', 'mesh.conflicts', 'mesh.cascades'],
    writes: ['mesh.dispatch', 'mesh.schedules', 'mesh.acks', 'mesh.conflicts', 'mesh.cascades', 'mesh.coordination', 'mesh.agent-acks'],
    dlqOfInputs: ['mesh.schedules', 'mesh.acks', 'mesh.conflicts', 'mesh.cascades'],
    groups: ['solvermesh.coordinator'], readerGroups: LOG_READERS, verifiesSignatures: true,
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
    // mesh.heartbeats: its summary-due ticks (services/impedance/summary-due.ts).
    writes: ['mesh.impedance', 'mesh.summaries', 'mesh.schedules', 'mesh.agent-acks', 'mesh.coordination', 'mesh.heartbeats'],
    dlqOfInputs: ['mesh.heartbeats', 'mesh.coordination', 'mesh.acks', 'mesh.agent-acks', 'mesh.circuits'],
    groups: ['solvermesh.impedance'], readerGroups: LOG_READERS, verifiesSignatures: true,
  },
  {
    principal: 'gateway', doc: 'Follows what it streams; writes sessions, costs, commands and joins (heartbeats). The MCP server runs as it.',
    reads: ['solver.sessions', 'solver.costs', 'solver.iterations', 'solver.verifications', 'mesh.conflicts', 'mesh.summaries', 'mesh.circuits'],
    writes: ['solver.sessions', 'solver.costs', 'solver.commands', 'mesh.heartbeats'],
    dlqOfInputs: [], groups: [], describesGroups: ['solvermesh.verifier.'], readerGroups: ['solvermesh-gateway-'], registersKeys: true,
  },
  {
    principal: 'simulator', doc: 'Agents: reads what is dispatched to them; writes only heartbeats and acks.',
    reads: ['mesh.dispatch'], writes: ['mesh.heartbeats', 'mesh.acks'], dlqOfInputs: [],
    // Its agents' groups are `<prefix>simulator-agents-<random>` (services/simulator/sim.ts).
    groups: [], plainGroups: ['simulator-agents-'], readerGroups: [], registersKeys: true,
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
  const roles = [...(a.verifiesSignatures ? [SIGNING.verifier] : []), ...(a.registersKeys ? [SIGNING.registrar] : [])];
  const ownSignedDeadLetters = a.verifiesSignatures ? a.dlqOfInputs.filter((t) => SIGNED_TOPICS.includes(t)).map(dlqName) : [];
  for (const t of new Set([...a.reads, ...roles.flatMap((r) => r.reads), ...ownSignedDeadLetters])) out.push(allow(a.principal, Res.TOPIC, prefix + t, Pattern.LITERAL, Op.READ));
  const observes = a.groups.length > 0 ? [OBSERVATIONS] : [];
  const written = new Set<string>([...a.writes, ...roles.flatMap((r) => r.writes), ...a.dlqOfInputs.map(dlqName), ...observes]);
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
  for (const g of new Set([...a.readerGroups, ...roles.flatMap((r) => r.readerGroups)])) out.push(allow(a.principal, Res.GROUP, g, Pattern.PREFIXED, Op.READ));
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

/** An ACL as one comparable string (kafkajs returns describeAcls' entries in this shape too). */
export const aclKey = (a: AclEntry) => [a.principal, a.host, a.permissionType, a.resourceType, a.resourceName, a.resourcePatternType, a.operation].join('|');

/**
 * Stems of the resources a namespace owns: its topics' families (`solver.`, `mesh.`), its
 * groups, and the unprefixed reader groups. A resource of `prefix` is the prefix followed by one
 * of them; `t-x.mesh.acks` under the empty prefix is another namespace's, never ours to prune.
 */
function namespaceStems(): string[] {
  const stems = new Set<string>();
  for (const a of SERVICE_ACCESS) {
    for (const t of [...a.reads, ...a.writes, ...a.dlqOfInputs]) stems.add(`${t.slice(0, t.indexOf('.') + 1)}`);
    for (const g of [...a.groups, ...(a.plainGroups ?? []), ...(a.describesGroups ?? [])]) stems.add(g);
  }
  return [...stems];
}

/**
 * The ACLs of the managed principals (the services'; the registry's with `registry`) on the
 * brokers for `prefix`'s resources that `wanted` no longer holds: what a change of
 * topics/access.ts left behind. Other namespaces' ACLs and other principals' are not touched.
 */
export function staleAcls(existing: readonly AclEntry[], wanted: readonly AclEntry[], prefix: string, registry = false): AclEntry[] {
  const keep = new Set(wanted.map(aclKey));
  const managed = new Set([...SERVICE_ACCESS.map((a) => `User:${a.principal}`), ...(registry ? [`User:${REGISTRY_ACCESS.principal}`] : [])]);
  const stems = namespaceStems();
  const ours = (a: AclEntry) => {
    if (a.principal === `User:${REGISTRY_ACCESS.principal}` || a.resourceType === Res.CLUSTER) return true;
    // The unprefixed reader groups (`solvermesh-reader-` ...) are written by every namespace's
    // apply; only the unprefixed namespace prunes them (a TOPIC_PREFIX ends in '.').
    if (a.resourceType === Res.GROUP && !a.resourceName.includes('.')) return prefix === '';
    return a.resourceName.startsWith(prefix) && stems.some((s) => a.resourceName.slice(prefix.length).startsWith(s));
  };
  return existing.filter((a) => managed.has(a.principal) && ours(a) && !keep.has(aclKey(a)));
}
