import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KNOB_SETS } from '../../../services/registry';
import { knobMarkdown } from '../../../services/runtime/knob-table';
import { defaultText, readKnobs } from '../../../services/runtime/knobs';

const README = join(__dirname, '..', '..', '..', 'README.md');
const BLOCK = /<!-- knobs:([\w-]+) -->\n([\s\S]*?)\n<!-- \/knobs -->/g;

describe('README configuration tables', () => {
  const readme = readFileSync(README, 'utf8');
  const blocks = new Map([...readme.matchAll(BLOCK)].map((m) => [m[1]!, m[2]!]));

  it('given the declared knob sets, when the README is read, then it has one table for each and no other', () => {
    assert.deepEqual([...blocks.keys()].sort(), KNOB_SETS.map((s) => s.name).sort());
  });

  for (const set of KNOB_SETS) {
    it(`given the ${set.name} knobs, when their README table is compared, then it is what the declarations print (bin/solvermesh config --markdown)`, () => {
      assert.equal(blocks.get(set.name), knobMarkdown(set.knobs));
    });
  }
});

describe('every declared knob set', () => {
  const camel = (env: string) => env.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

  it('given each knob, when its property name is compared with its variable, then it is the variable in camelCase (so sets read together never collide)', () => {
    for (const set of KNOB_SETS) {
      for (const [key, knob] of Object.entries(set.knobs)) assert.equal(key, camel(knob.env), `${set.name}: ${knob.env}`);
    }
  });

  it('given an empty environment, when each set is read, then every default is a value its own knob accepts', () => {
    for (const set of KNOB_SETS) {
      const env = Object.fromEntries(Object.values(set.knobs).map((k) => [k.env, defaultText(k).startsWith('(') ? '' : defaultText(k)]));
      assert.doesNotThrow(() => readKnobs(set.knobs, env), `${set.name}: a default its knob refuses`);
    }
  });
});
