import assert from 'node:assert/strict';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { loadEventSchemas, type AvroSchema, type EventSchema } from '../../../schemas/catalog';
import { EventCodec } from '../../../services/runtime/codec';
import { registryAdmin } from '../../../services/runtime/registry-admin';
import { frame } from '../../../services/runtime/wire-format';
import { checkAgainstRegistry } from '../../../services/cli/schemas/check';
import { catalogSubjects } from '../../../services/cli/schemas/subjects';
import { conflictReported } from '../../support/events';
import { ensureInfra } from '../../support/infra';
import { uniquePrefix } from '../../support/kafka';

type Field = { name: string; type: unknown; default?: unknown };

/** The catalog with ConflictReported's fields changed by `edit`. */
function catalogWith(edit: (fields: Field[]) => Field[]): Map<string, EventSchema> {
  const base = loadEventSchemas();
  const event = base.get('ConflictReported')!;
  const schema = { ...event.schema, fields: edit([...(event.schema.fields as Field[])]) } as AvroSchema;
  const changed = new Map(base);
  changed.set('ConflictReported', { ...event, schema, type: avro.Type.forSchema(schema as avro.Schema) });
  return changed;
}

describe('schema registry: Confluent wire format, evolution and the compatibility check', function () {
  this.timeout(60_000);
  let url: string;
  before(async () => { url = (await ensureInfra()).SCHEMA_REGISTRY_URL; });

  it('writes records that a Confluent-compatible client decodes, under a TopicRecordNameStrategy subject', async () => {
    const topic = `${uniquePrefix('wire')}mesh.conflicts`;
    const event = conflictReported(5);
    const bytes = await new EventCodec(url).encode(topic, event);

    const subject = `${topic}-solvermesh.mesh.ConflictReported`;
    const [registered] = await registryAdmin(url).versions(subject);
    assert.equal(bytes[0], 0, 'magic byte');
    assert.equal(bytes.readUInt32BE(1), registered!.id, 'schema id of the subject, big-endian');
    const decoded = await new SchemaRegistry({ host: url }).decode(bytes);
    assert.equal(decoded.conflict_id, event.conflict_id);
    assert.equal(decoded.detail.conflict_type, event.detail.conflict_type);
    assert.equal(decoded.meta.occurred_at, event.meta.occurred_at);
    assert.equal(await registryAdmin(url).compatibility(subject), 'FULL_TRANSITIVE');
  });

  // Regression: four verifier groups' first votes registered the same new subject side by side;
  // the registry answered all but one `PUT /config` with 409 and those votes were dead-lettered.
  it('given several writers of a new subject at once, when each encodes its first record, then every one succeeds', async () => {
    const topic = `${uniquePrefix('race')}mesh.conflicts`;
    const writers = Array.from({ length: 6 }, () => new EventCodec(url));
    const framed = await Promise.all(writers.map((c, i) => c.encode(topic, conflictReported(i))));
    assert.equal(new Set(framed.map((b) => b.readUInt32BE(1))).size, 1, 'one schema id for all');
    assert.equal(await registryAdmin(url).compatibility(`${topic}-solvermesh.mesh.ConflictReported`), 'FULL_TRANSITIVE');
  });

  it('reads a record written by a newer producer that added an optional field', async () => {
    const topic = `${uniquePrefix('evolve')}mesh.conflicts`;
    const codec = new EventCodec(url);
    await codec.encode(topic, conflictReported(1));
    // given: a newer writer schema with one more optional field, registered as version 2
    const v2 = catalogWith((f) => [...f, { name: 'note', type: ['null', 'string'], default: null }]).get('ConflictReported')!;
    const id = await registryAdmin(url).register(`${topic}-solvermesh.mesh.ConflictReported`, v2.schema);
    const written = frame(id, v2.type.toBuffer({ ...conflictReported(2), note: 'from the future' }));
    // when / then: this build decodes it with its own (older) reader schema
    const { event } = await codec.decode(written);
    assert.equal(event.type, 'ConflictReported');
    assert.equal(event.conflict_id, 'conflict-2');
    assert.equal('note' in event, false);
  });

  describe('`schemas check` against what is registered', () => {
    let prefix: string;
    before(async () => {
      prefix = uniquePrefix('compat');
      const admin = registryAdmin(url);
      for (const s of catalogSubjects(prefix)) await admin.register(s.subject, s.event.schema);
    });
    const check = (schemas: Map<string, EventSchema>) => checkAgainstRegistry(registryAdmin(url), catalogSubjects(prefix, schemas).filter((s) => s.event.name === 'ConflictReported'));

    it('passes an added optional field with a default', async () => {
      assert.deepEqual(await check(catalogWith((f) => [...f, { name: 'note', type: ['null', 'string'], default: null }])), []);
    });

    it('fails a new required field without a default, naming it', async () => {
      const problems = await check(catalogWith((f) => [...f, { name: 'severity', type: 'int' }]));
      assert.ok(problems.length > 0);
      assert.match(problems.join('\n'), /severity/);
    });

    it('fails a removed required field, naming it (older readers still need it)', async () => {
      const problems = await check(catalogWith((f) => f.filter((x) => x.name !== 'message_id')));
      assert.ok(problems.length > 0);
      assert.match(problems.join('\n'), /message_id/);
    });

    it('fails a changed field type, naming the field, and the registry itself refuses it', async () => {
      const changed = catalogWith((f) => f.map((x) => (x.name === 'agent_id' ? { ...x, type: 'long' } : x)));
      const problems = await check(changed);
      assert.ok(problems.length > 0);
      assert.match(problems.join('\n'), /agent_id/);
      const subject = catalogSubjects(prefix).find((s) => s.event.name === 'ConflictReported')!.subject;
      await registryAdmin(url).setCompatibility(subject, 'FULL_TRANSITIVE');
      await assert.rejects(registryAdmin(url).register(subject, changed.get('ConflictReported')!.schema), /HTTP 409/);
    });
  });
});
