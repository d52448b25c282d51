import assert from 'node:assert/strict';
import { loadEventSchemas, type AvroSchema } from '../../../schemas/catalog';

// The conventions other code relies on (DESIGN "Schemas evolve safely", issue 3).
describe('schemas: catalog conventions', () => {
  const events = [...loadEventSchemas().values()];

  for (const ev of events) {
    it(`${ev.name}: meta first, no top-level 'type', namespaced, documented, snake_case`, () => {
      const fields = ev.schema.fields as AvroSchema[];
      assert.equal(fields[0]?.name, 'meta');
      assert.equal(fields[0]?.type && (fields[0].type as AvroSchema).name, 'EventMetadata');
      assert.ok(!fields.some((f) => f.name === 'type'), 'top-level field named type');
      assert.match(ev.fullName, /^solvermesh\.(solver|mesh)\.[A-Z][A-Za-z]+$/);
      const walk = (node: unknown, path: string): void => {
        if (Array.isArray(node)) return node.forEach((n) => walk(n, path));
        if (!node || typeof node !== 'object') return;
        const s = node as AvroSchema;
        if (s.type === 'record') {
          for (const f of s.fields as AvroSchema[]) {
            const p = `${path}.${String(f.name)}`;
            assert.ok(typeof f.doc === 'string' && f.doc.length > 0, `${p} has no doc`);
            assert.match(String(f.name), /^[a-z][a-z0-9_]*$/, `${p} is not snake_case`);
            if (Array.isArray(f.type) && f.type[0] === 'null') assert.equal(f.default, null, `${p} optional without default null`);
            walk(f.type, p);
          }
        }
        walk(s.items, `${path}[]`);
        walk(s.values, `${path}{}`);
      };
      walk(ev.schema, ev.name);
    });
  }
});
