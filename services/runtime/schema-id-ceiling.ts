// The registry's highest schema id, found by asking whether ids exist: doubling steps up from
// one known to exist until one does not, then halving the gap. Registries hand out ids in order
// and densely (Apicurio's content ids, Confluent's ids), so ~2·log2(gap) requests find it; a
// deleted id on the way only makes the answer lower, never higher than the truth.
import type { RegistryAdmin } from './registry-admin';

const MAX_DOUBLINGS = 31;

export async function highestSchemaId(admin: Pick<RegistryAdmin, 'schemaExists'>, knownToExist: number): Promise<number> {
  let low = Math.max(0, knownToExist);
  let step = 1;
  let high = -1; // the first id found missing
  for (let i = 0; i < MAX_DOUBLINGS && high < 0; i++, step *= 2) {
    if (await admin.schemaExists(low + step)) low += step;
    else high = low + step;
  }
  if (high < 0) return low;
  while (high - low > 1) {
    const mid: number = low + Math.floor((high - low) / 2);
    if (await admin.schemaExists(mid)) low = mid;
    else high = mid;
  }
  return low;
}
