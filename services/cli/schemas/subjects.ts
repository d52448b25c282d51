// Which subjects the catalog registers: one per (topic, event type it carries), named by
// TopicRecordNameStrategy.
import { loadEventSchemas, type EventSchema } from '../../../schemas/catalog';
import { TOPICS } from '../../../topics/catalog';
import { subjectFor } from '../../runtime/codec';

export interface CatalogSubject {
  readonly subject: string;
  readonly topic: string;
  readonly event: EventSchema;
}

export function catalogSubjects(prefix = '', schemas = loadEventSchemas()): CatalogSubject[] {
  const out: CatalogSubject[] = [];
  for (const t of TOPICS) {
    for (const name of t.events) {
      const event = schemas.get(name);
      if (!event) throw new Error(`topic ${t.name} declares event ${name}, which has no schema in schemas/`);
      out.push({ subject: subjectFor(prefix + t.name, event.fullName), topic: prefix + t.name, event });
    }
  }
  return out;
}
