import assert from 'node:assert/strict';
import { conflictReported } from '../../support/events';
import { TestKafka } from '../../support/kafka';
import { spawnCli } from '../../support/process';

describe('solvermesh tail', function () {
  this.timeout(60_000);
  let k: TestKafka;

  before(async () => {
    k = await TestKafka.create('tail');
    // one partition's worth of records, in order: two reports and one undecodable record
    await k.sendEvents('mesh.conflicts', [
      { key: 'same-key', event: conflictReported(1) },
      { key: 'same-key', event: conflictReported(2) },
    ]);
    await k.sendRaw('mesh.conflicts', [{ key: 'same-key', value: Buffer.from('junk, not Avro') }]);
  });
  after(() => k?.close());

  const tail = async (...args: string[]) => {
    const child = spawnCli(['tail', 'mesh.conflicts', '--json', ...args], { ...process.env, TOPIC_PREFIX: k.prefix });
    const { code } = await child.exited;
    return { code, lines: child.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>) };
  };

  it('prints every record as NDJSON, decoded, and stops at the end without --follow', async () => {
    const { code, lines } = await tail();
    assert.equal(code, 0);
    assert.deepEqual(lines.map((l) => l.type), ['ConflictReported', 'ConflictReported', 'Undecodable']);
    assert.equal((lines[0]!.event as { conflict_id: string }).conflict_id, 'conflict-1');
    assert.match(String(lines[2]!.error), /magic byte/);
  });

  it('starts at a given offset', async () => {
    const { lines } = await tail('--offset', '1');
    assert.deepEqual(lines.map((l) => l.offset), ['1', '2']);
  });

  it('stops after --max records', async () => {
    const { lines } = await tail('--max', '1');
    assert.equal(lines.length, 1);
  });

  it('exits non-zero with a message for a topic that does not exist', async () => {
    const child = spawnCli(['tail', 'no.such.topic'], { ...process.env, TOPIC_PREFIX: k.prefix });
    assert.equal((await child.exited).code, 1);
    assert.match(child.output(), /topic .*no\.such\.topic does not exist/);
  });
});
