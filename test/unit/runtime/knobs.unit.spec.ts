import assert from 'node:assert/strict';
import { SolvermeshError } from '../../../services/runtime/errors';
import { combineKnobs, inspectKnobs, readKnobs, type KnobDecls } from '../../../services/runtime/knobs';
import { knobRows } from '../../../services/runtime/knob-table';
import { RUNTIME_KNOBS } from '../../../services/runtime/config';

const DECLS = {
  port: { env: 'T_PORT', kind: 'int', default: 80, min: 1, max: 65535, doc: 'a port' },
  ratio: { env: 'T_RATIO', kind: 'number', default: 0.5, above: 0, max: 1, doc: 'a share' },
  mode: { env: 'T_MODE', kind: 'enum', values: ['fast', 'safe'], default: 'safe', doc: 'a mode' },
  name: { env: 'T_NAME', kind: 'string', default: 'svc', doc: 'a name' },
  id: { env: 'T_ID', kind: 'string', default: () => 'generated', defaultDoc: '(random)', doc: 'an id' },
  url: { env: 'T_URL', kind: 'url', default: 'http://h:1', protocols: ['http:'], doc: 'a URL' },
  hosts: { env: 'T_HOSTS', kind: 'list', default: ['h:1'], item: { pattern: /^[^:]+:\d+$/, name: 'host:port' }, doc: 'hosts' },
} as const satisfies KnobDecls;

describe('knobs: configuration declared as data and read by one function', () => {
  it('given an empty environment, when read, then every knob has its default and the object is frozen', () => {
    const v = readKnobs(DECLS, {});
    assert.deepEqual({ ...v }, { port: 80, ratio: 0.5, mode: 'safe', name: 'svc', id: 'generated', url: 'http://h:1', hosts: ['h:1'] });
    assert.ok(Object.isFrozen(v));
  });

  it('given values in the environment, when read, then they are parsed by kind and typed by declaration', () => {
    const v = readKnobs(DECLS, { T_PORT: ' 8080 ', T_RATIO: '1', T_MODE: 'fast', T_NAME: 'x', T_URL: 'http://r:2/api/', T_HOSTS: 'a:1, b:2,' });
    // Compile-time: the values carry their declared types without casts.
    const port: number = v.port;
    const mode: 'fast' | 'safe' = v.mode;
    const hosts: string[] = v.hosts;
    // @ts-expect-error a mode outside the declared values is not a value of this knob
    const wrong: 'slow' = v.mode;
    void wrong;
    assert.deepEqual([port, v.ratio, mode, v.name, v.url, hosts], [8080, 1, 'fast', 'x', 'http://r:2/api', ['a:1', 'b:2']]);
  });

  it('given several bad variables, when read, then one CONFIG_INVALID names each with its value, what is allowed and an example', () => {
    const env = { T_PORT: '0', T_RATIO: '0', T_MODE: 'slow', T_URL: 'ftp://h', T_HOSTS: 'nohost', T_NAME: 'fine' };
    assert.throws(() => readKnobs(DECLS, env), (err: unknown) => {
      assert.ok(err instanceof SolvermeshError);
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.equal(err.retriable, false);
      assert.match(err.message, /\(5 bad variables\)/);
      assert.match(err.message, /T_PORT="0": an integer in \[1, 65535\]; e\.g\. T_PORT=80/);
      assert.match(err.message, /T_RATIO="0": a number > 0 and <= 1; e\.g\. T_RATIO=0\.5/);
      assert.match(err.message, /T_MODE="slow": one of fast, safe; e\.g\. T_MODE=safe/);
      assert.match(err.message, /T_URL="ftp:\/\/h": a URL with http:; e\.g\. T_URL=http:\/\/h:1/);
      assert.match(err.message, /T_HOSTS="nohost": comma-separated host:port, at least one; e\.g\. T_HOSTS=h:1/);
      assert.doesNotMatch(err.message, /T_NAME/);
      return true;
    });
  });

  it('given a fraction, a non-number or an empty list, when read, then each is a bad variable', () => {
    const r = inspectKnobs(DECLS, { T_PORT: '80.5', T_RATIO: 'half', T_HOSTS: ',' });
    assert.deepEqual(r.problems.map((p) => p.env), ['T_PORT', 'T_RATIO', 'T_HOSTS']);
  });

  it('given a blank variable, when read, then it counts as unset', () => {
    const r = inspectKnobs(DECLS, { T_PORT: '  ', T_MODE: '' });
    assert.deepEqual(r.problems, []);
    assert.equal(r.sources.port, 'default');
    assert.equal(r.values.port, 80);
  });

  it('given a mix, when inspected, then each value says whether it came from the environment or the default', () => {
    const r = inspectKnobs(DECLS, { T_PORT: '81', T_MODE: 'nope' });
    assert.equal(r.sources.port, 'env');
    assert.equal(r.sources.mode, 'default', 'a bad value is reported and its default stands in');
    assert.equal(r.sources.name, 'default');
    assert.equal(r.problems.length, 1);
  });

  it('given two reads, when a list is changed by its user, then the declaration and the next read keep theirs', () => {
    readKnobs(DECLS, {}).hosts.push('x:2');
    assert.deepEqual(readKnobs(DECLS, {}).hosts, ['h:1']);
  });

  it('given two sets that share a property or a variable, when combined or read, then it is a programming error', () => {
    assert.throws(() => combineKnobs(DECLS, { port: DECLS.name }), /knob property port is declared twice/);
    assert.throws(() => readKnobs({ a: DECLS.port, b: DECLS.port }, {}), /knob T_PORT is declared twice/);
  });
});

describe('solvermesh config listing (knobRows)', () => {
  it('given a Redis URL with a password, when the knobs are listed, then the password is masked and the user and host are kept', () => {
    const { rows, problems } = knobRows([{ name: 'runtime', knobs: RUNTIME_KNOBS }], { REDIS_URL: 'redis://app:s3cret@cache.internal:6380' });
    assert.deepEqual(problems, []);
    const redis = rows.find((r) => r.env === 'REDIS_URL')!;
    assert.equal(redis.source, 'env');
    assert.equal(redis.value, 'redis://app:***@cache.internal:6380');
    assert.ok(!rows.some((r) => r.value.includes('s3cret')), 'the secret appears in no row');
  });
});
