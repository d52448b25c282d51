// Writes the ACLs of topics/access.ts to the brokers. Creating an ACL that exists changes
// nothing, so running it again is harmless. Needs a principal allowed to alter ACLs (operator).
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes, type AclEntry, type Admin } from 'kafkajs';
import { kafkajsConfig } from '../services/runtime/credentials';
import { staleAcls } from './access';

async function withAdmin<T>(brokers: readonly string[], f: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Kafka(kafkajsConfig({ clientId: 'solvermesh-acls', brokers: [...brokers], logLevel: logLevel.NOTHING })).admin();
  await admin.connect();
  try {
    return await f(admin);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export interface AppliedAcls {
  readonly applied: number;
  /** ACLs of the managed principals for this namespace that access.ts no longer derives. */
  readonly stale: readonly AclEntry[];
  readonly pruned: boolean;
}

/** Creates `acls`; finds the stale ones of the same principals and namespace, and deletes them with `prune`. */
export async function applyAcls(brokers: readonly string[], acls: readonly AclEntry[], o: { prefix: string; registry?: boolean; prune?: boolean }): Promise<AppliedAcls> {
  return withAdmin(brokers, async (admin) => {
    // At most 50 per request: kafkajs's CreateAcls of 127 failed with "Request is not valid given
    // the current SASL state" on a SCRAM connection (Kafka 4.3.1), while 50 at a time pass.
    for (let i = 0; i < acls.length; i += 50) await admin.createAcls({ acl: acls.slice(i, i + 50) });
    const described = await admin.describeAcls({
      resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY,
    });
    const existing: AclEntry[] = described.resources.flatMap((r) => r.acls.map((a) => ({
      resourceType: r.resourceType, resourceName: r.resourceName, resourcePatternType: r.resourcePatternType,
      principal: a.principal, host: a.host, operation: a.operation, permissionType: a.permissionType,
    })));
    const stale = staleAcls(existing, acls, o.prefix, o.registry);
    if (o.prune) {
      // An exact filter per ACL: a filter matches only the bindings equal to it.
      for (let i = 0; i < stale.length; i += 50) await admin.deleteAcls({ filters: stale.slice(i, i + 50) });
    }
    return { applied: acls.length, stale, pruned: o.prune === true && stale.length > 0 };
  });
}
