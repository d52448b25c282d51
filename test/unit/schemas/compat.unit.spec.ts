import assert from 'node:assert/strict';
import { loadEventSchemas, type AvroSchema } from '../../../schemas/catalog';
import { checkBackward, checkCompatibility } from '../../../schemas/compat';

// Evolutions of a real event schema, as `schemas check` would see them.
const base = (): AvroSchema => structuredClone(loadEventSchemas().get('ConflictReported')!.schema);
const fields = (s: AvroSchema): AvroSchema[] => s.fields as AvroSchema[];

function withField(f: AvroSchema): AvroSchema {
  const s = base();
  fields(s).push(f);
  return s;
}

describe('schemas/compat', () => {
  it('every schema is compatible with itself at FULL', () => {
    for (const ev of loadEventSchemas().values()) assert.deepEqual(checkCompatibility(ev.schema, ev.schema, 'FULL'), [], ev.name);
  });

  it('BACKWARD: adding an optional field with a default passes', () => {
    // given an older schema and a newer one with an optional field
    const newer = withField({ name: 'note', type: ['null', 'string'], default: null, doc: 'x' });
    // when checked, then no problems
    assert.deepEqual(checkBackward(newer, base()), []);
  });

  it('BACKWARD: adding a required field without default fails, naming the field', () => {
    const newer = withField({ name: 'severity', type: 'int', doc: 'x' });
    const problems = checkBackward(newer, base());
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /field 'severity' is not in the writer schema and has no default/);
  });

  it('BACKWARD: changing a field type fails, naming the field', () => {
    const newer = base();
    fields(newer).find((f) => f.name === 'agent_id')!.type = 'int';
    const problems = checkBackward(newer, base());
    assert.match(problems.join('\n'), /field 'agent_id' changed type from string to int/);
  });

  it('BACKWARD: changing a nested field type names the nested path', () => {
    const newer = base();
    const detail = fields(newer).find((f) => f.name === 'detail')!.type as AvroSchema;
    fields(detail).find((f) => f.name === 'context_hash')!.type = 'int';
    assert.match(checkBackward(newer, base()).join('\n'), /field 'detail.context_hash' changed type from string to int/);
  });

  it('BACKWARD: int -> long is a legal promotion', () => {
    const older = withField({ name: 'n', type: 'int', doc: 'x' });
    const newer = withField({ name: 'n', type: 'long', doc: 'x' });
    assert.deepEqual(checkBackward(newer, older), []);
  });

  it('removing a required field passes BACKWARD but fails FORWARD and FULL, naming the field', () => {
    const newer = base();
    newer.fields = fields(newer).filter((f) => f.name !== 'message_id');
    assert.deepEqual(checkCompatibility(newer, base(), 'BACKWARD'), []);
    assert.match(checkCompatibility(newer, base(), 'FORWARD').join('\n'), /field 'message_id' is not in the writer schema and has no default/);
    assert.match(checkCompatibility(newer, base(), 'FULL').join('\n'), /FORWARD .*field 'message_id'/);
  });

  it('BACKWARD: dropping an enum symbol old data may carry fails, naming field and symbol', () => {
    const newer = base();
    const detail = fields(newer).find((f) => f.name === 'detail')!.type as AvroSchema;
    const ct = fields(detail).find((f) => f.name === 'conflict_type')!.type as AvroSchema;
    ct.symbols = (ct.symbols as string[]).filter((x) => x !== 'OTHER');
    assert.match(checkBackward(newer, base()).join('\n'), /field 'detail.conflict_type': enum ConflictType lacks symbol\(s\) OTHER/);
  });

  it('BACKWARD: adding an enum symbol passes, FORWARD fails without an enum default', () => {
    const newer = base();
    const detail = fields(newer).find((f) => f.name === 'detail')!.type as AvroSchema;
    const ct = fields(detail).find((f) => f.name === 'conflict_type')!.type as AvroSchema;
    (ct.symbols as string[]).push('NEW_KIND');
    assert.deepEqual(checkBackward(newer, base()), []);
    assert.match(checkCompatibility(newer, base(), 'FORWARD').join('\n'), /NEW_KIND/);
  });
});
