import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, REDACTED } from '../../../services/runtime/logger';

describe('logs never carry secrets (pino redaction)', () => {
  it('given tokens, passwords, keys and signatures in log fields, when logged, then the parsed NDJSON lines hold none of them', () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(...chunk.toString().split('\n').filter(Boolean)); done(); } });
    const log = createLogger('info', 'spec', sink);
    const secrets = ['s3cr3t-token', 'hunter2', 'PRIVATE-SEED-abc', 'sig-bytes-xyz', 'sasl-pass', 'Bearer eyJhbGciOi'];
    log.info({ token: secrets[0], password: secrets[1] }, 'top level');
    log.child({ component: 'keys' }).info({ identity: { private_key_seed: secrets[2], signature: secrets[3] }, config: { saslPassword: secrets[4] } }, 'nested');
    log.info({ req: { method: 'POST', url: '/api/v1/swarm/join', headers: { authorization: secrets[5] } } }, 'request');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(parsed.length, 3);
    for (const s of secrets) assert.ok(!lines.some((l) => l.includes(s)), `${s} leaked`);
    assert.equal(parsed[0]!.token, REDACTED);
    assert.equal((parsed[1]!.identity as Record<string, unknown>).private_key_seed, REDACTED);
    assert.equal(((parsed[2]!.req as Record<string, unknown>).headers as Record<string, unknown>).authorization, REDACTED);
  });
});
