import assert from 'node:assert/strict';
import { decimal } from '../../../services/runtime/processor';

describe('runtime: decimal() reads record offsets and timestamps', () => {
  it('gives what Number() gives, for digit strings and for anything else', () => {
    const cases = [
      '0', '7', '007', '42', '1795447069911', '999999999999999', '9007199254740991', '9007199254740993', '12345678901234567890',
      '', '-1', '+3', '1e3', '1.5', ' 12', '12 ', '0x1f', 'abc', '١٢',
    ];
    for (const s of cases) assert.ok(Object.is(decimal(s), Number(s)), `${JSON.stringify(s)}: ${decimal(s)} vs ${Number(s)}`);
    for (let i = 0; i < 2000; i++) {
      const s = String(Math.floor(Math.random() * 10 ** (1 + (i % 15))));
      assert.equal(decimal(s), Number(s), s);
    }
  });
});
