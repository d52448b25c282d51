// Compatibility checks of the working catalog. The policy is FULL_TRANSITIVE: new readers must
// read every older version (BACKWARD: replays of the log) and older readers must read what new
// producers write (FORWARD: rolling deploys, consumers upgraded after producers). BACKWARD alone
// would let a required field be removed and break every consumer not yet upgraded.
import { checkCompatibility } from '../../../schemas/compat';
import type { AvroSchema, EventSchema } from '../../../schemas/catalog';
import type { RegistryAdmin } from '../../runtime/registry-admin';
import type { CatalogSubject } from './subjects';

export function checkAgainstHistory(current: Map<string, EventSchema>, history: Map<string, Array<{ commit: string; schema: AvroSchema }>>): string[] {
  const problems: string[] = [];
  for (const [name, versions] of history) {
    const now = current.get(name);
    if (!now) { problems.push(`${name}: event type removed (data written with it could no longer be read)`); continue; }
    for (const v of versions) {
      for (const m of checkCompatibility(now.schema, v.schema, 'FULL')) problems.push(`${name} vs ${v.commit}: ${m}`);
    }
  }
  return problems;
}

export async function checkAgainstRegistry(admin: RegistryAdmin, subjects: readonly CatalogSubject[]): Promise<string[]> {
  const problems: string[] = [];
  for (const s of subjects) {
    const before = problems.length;
    for (const v of await admin.versions(s.subject)) {
      for (const m of checkCompatibility(s.event.schema, v.schema, 'FULL')) problems.push(`${s.subject} vs version ${v.version}: ${m}`);
    }
    // The registry's own verdict backs ours up, in case our walk misses a rule it enforces.
    const verdict = await admin.compatible(s.subject, s.event.schema);
    if (!verdict.ok && problems.length === before) problems.push(`${s.subject}: registry says incompatible: ${verdict.messages.join('; ') || 'no reason given'}`);
  }
  return problems;
}
