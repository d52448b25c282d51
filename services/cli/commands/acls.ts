// `solvermesh acls apply|list`: each service principal's Kafka ACLs (topics/access.ts) for TOPIC_PREFIX.
import type { Command } from 'commander';
import { AclOperationTypes, AclResourceTypes, ResourcePatternTypes, type AclEntry } from 'kafkajs';
import { aclBindings, registryAcls } from '../../../topics/access';
import { applyAcls } from '../../../topics/acls';
import { loadConfig } from '../../runtime/config';

// kafkajs's enums are plain objects at run time, without TypeScript's reverse mapping.
const nameOf = (e: object, v: number) => Object.entries(e).find(([, x]) => x === v)?.[0] ?? String(v);
const line = (a: AclEntry) =>
  `${a.principal.padEnd(18)} ${nameOf(AclOperationTypes, a.operation).padEnd(16)} ${nameOf(AclResourceTypes, a.resourceType).toLowerCase()}:${a.resourceName}${a.resourcePatternType === ResourcePatternTypes.PREFIXED ? '*' : ''}\n`;

export function register(program: Command): void {
  const acls = program.command('acls').description('Kafka ACLs of the service principals (topics/access.ts), for the secured stack (make up SECURE=1)');
  const chosen = (o: { registry?: boolean }) => [...aclBindings(loadConfig().topicPrefix), ...(o.registry ? registryAcls() : [])];
  acls
    .command('apply')
    .description('create every service principal\'s ACLs for TOPIC_PREFIX (as a principal allowed to alter ACLs: the operator)')
    .option('--registry', 'also the schema registry\'s own ACLs (its kafkasql topics and groups)')
    .action(async (o: { registry?: boolean }) => {
      const n = await applyAcls(loadConfig().kafkaBrokers, chosen(o));
      process.stdout.write(`acls: ${n} applied\n`);
    });
  acls
    .command('list')
    .description('print the ACLs apply would create (a trailing * is a prefix pattern)')
    .option('--registry', 'also the schema registry\'s own ACLs')
    .action((o: { registry?: boolean }) => { for (const a of chosen(o)) process.stdout.write(line(a)); });
}
