// Attack suite, Redis and the schema registry (issue 20), on the secured stack: Redis refuses a
// client without a service's credentials and a service user's command outside its ACL; the
// registry proxy refuses registration to anyone but the operator while every service reads.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { redisAuth } from '../../../services/runtime/credentials';
import { ensureSecureInfra, identity, secretOf } from '../../support/secure-infra';

const CONTENT = 'application/vnd.schemaregistry.v1+json';

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail('expected a refusal, got success');
}

describe('security: Redis ACL users and the registry proxy', function () {
  // A cold secured stack (two Kafka-backed JVMs) took 4 min to start on the loaded 2-core box.
  this.timeout(600_000);
  const ns = `t-sec-${Date.now().toString(36)}${randomBytes(3).toString('hex')}.`;
  const clients: Redis[] = [];
  const connect = (url: string, opts: { username?: string; password?: string; enableReadyCheck?: boolean } = {}) => {
    const r = new Redis(url, { ...opts, maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
    r.on('error', () => undefined);
    clients.push(r);
    return r;
  };

  before(() => ensureSecureInfra());
  after(async () => {
    const op = identity('operator');
    const admin = connect(op.REDIS_URL!, redisAuth(op));
    await admin.connect();
    await admin.del(`${ns}mesh:agent:a1`, `${ns}gateway:rate:x`);
    for (const c of clients) c.disconnect();
  });

  it('given clients without the service\'s credentials, when they connect or run a command, then Redis refuses them (no default user, wrong password)', async () => {
    const url = identity('operator').REDIS_URL!;
    // No ready check: its INFO is refused without credentials, which is what is asserted below.
    const anonymous = connect(url, { enableReadyCheck: false });
    await anonymous.connect();
    assert.match(await refusal(anonymous.get(`${ns}mesh:agent:a1`)), /NOAUTH/);
    assert.match(await refusal(anonymous.call('AUTH', 'impedance', 'not-the-password')), /WRONGPASS/);
    // Another service's password is not this user's either.
    assert.match(await refusal(anonymous.call('AUTH', 'impedance', secretOf('redis-gateway'))), /WRONGPASS/);
  });

  it('given each service\'s user, when it runs commands and keys outside its ACL, then they are refused and its own work passes', async () => {
    const impedance = identity('impedance');
    const writer = connect(impedance.REDIS_URL!, redisAuth(impedance));
    await writer.connect();
    await writer.hset(`${ns}mesh:agent:a1`, 'impedance', '0.5');
    assert.match(await refusal(writer.flushall()), /NOPERM/);
    assert.match(await refusal(writer.set(`${ns}gateway:rate:x`, '1')), /NOPERM/);

    const gateway = identity('gateway');
    const reader = connect(gateway.REDIS_URL!, redisAuth(gateway));
    await reader.connect();
    assert.equal(await reader.hget(`${ns}mesh:agent:a1`, 'impedance'), '0.5');
    assert.match(await refusal(reader.hset(`${ns}mesh:agent:a1`, 'impedance', '9')), /NOPERM/);
    assert.equal(await reader.incr(`${ns}gateway:rate:x`), 1);
    assert.match(await refusal(reader.call('CONFIG', 'SET', 'requirepass', '')), /NOPERM/);
  });

  it('given the registry proxy, when a service registers a schema, then it is refused 403 while its reads work; without credentials 401; the operator registers', async () => {
    const op = identity('operator');
    const base = op.SCHEMA_REGISTRY_URL!;
    const basic = (user: string) => `Basic ${Buffer.from(`${user}:${secretOf(`registry-${user}`)}`).toString('base64')}`;
    const subject = `${ns}probe-value`;
    const body = JSON.stringify({ schema: JSON.stringify({ type: 'record', name: 'Probe', fields: [{ name: 'a', type: 'string' }] }) });
    const post = (user: string | undefined, path: string) => fetch(`${base}${path}`, {
      method: 'POST', headers: { 'content-type': CONTENT, ...(user ? { authorization: basic(user) } : {}) }, body,
    });

    assert.equal((await post(undefined, `/subjects/${subject}/versions`)).status, 401);
    assert.equal((await fetch(`${base}/subjects`)).status, 401);
    const refused = await post('solver', `/subjects/${subject}/versions`);
    assert.equal(refused.status, 403, await refused.text());
    const config = await fetch(`${base}/config/${subject}`, { method: 'PUT', headers: { 'content-type': CONTENT, authorization: basic('gateway') }, body: JSON.stringify({ compatibility: 'NONE' }) });
    assert.equal(config.status, 403);
    assert.equal((await fetch(`${base}/subjects`, { headers: { authorization: basic('solver') } })).status, 200);

    const registered = await post('operator', `/subjects/${subject}/versions`);
    const text = await registered.text();
    assert.equal(registered.status, 200, text);
    const { id } = JSON.parse(text) as { id: number };
    // A service finds the operator's schema (a lookup is a read) and reads it by id.
    const found = await post('solver', `/subjects/${subject}`);
    assert.equal(found.status, 200);
    assert.equal(((await found.json()) as { id: number }).id, id);
    assert.equal((await fetch(`${base}/schemas/ids/${id}`, { headers: { authorization: basic('gateway') } })).status, 200);
    await fetch(`${base}/subjects/${subject}`, { method: 'DELETE', headers: { authorization: basic('operator') } });
  });
});
