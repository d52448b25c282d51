// Writes the ACLs of topics/access.ts to the brokers. Creating an ACL that exists changes
// nothing, so running it again is harmless. Needs a principal allowed to alter ACLs (operator).
import { Kafka, logLevel, type AclEntry } from 'kafkajs';
import { kafkajsConfig } from '../services/runtime/credentials';

export async function applyAcls(brokers: readonly string[], acls: readonly AclEntry[]): Promise<number> {
  const admin = new Kafka(kafkajsConfig({ clientId: 'solvermesh-acls', brokers: [...brokers], logLevel: logLevel.NOTHING })).admin();
  await admin.connect();
  try {
    // At most 50 per request: kafkajs's CreateAcls of 127 failed with "Request is not valid given
    // the current SASL state" on a SCRAM connection (Kafka 4.3.1), while 50 at a time pass.
    for (let i = 0; i < acls.length; i += 50) await admin.createAcls({ acl: acls.slice(i, i + 50) });
    return acls.length;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
