// Registry faults against the real registry: valid input is never dead-lettered because of the
// registry's state (lagging, wrong URL, unreachable, throttling or refusing credentials in front
// of it), and a flood of made-up ids is refused without a request per id.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadEventSchemas } from '../../../schemas/catalog';
import { EventCodec } from '../../../services/runtime/codec';
import { SolvermeshError } from '../../../services/runtime/errors';
import { registryAdmin, REGISTRY_REQUEST_TIMEOUT_MS } from '../../../services/runtime/registry-admin';
import { frame, HEADER_SIZE } from '../../../services/runtime/wire-format';
import { conflictReported } from '../../support/events';
import { ensureInfra } from '../../support/infra';
import { uniquePrefix } from '../../support/kafka';

async function failureOf(p: Promise<unknown>): Promise<SolvermeshError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof SolvermeshError, `a coded error, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the decode to fail');
}

describe('schema registry faults', function () {
  this.timeout(60_000);
  let url: string;
  let body: Buffer;
  const conflictSchema = loadEventSchemas().get('ConflictReported')!;
  /** Registers ConflictReported with a new doc: same record, new content, so a new id. */
  const registerVariant = async () =>
    registryAdmin(url).register(`${uniquePrefix('variant')}mesh.conflicts-${conflictSchema.fullName}`, { ...conflictSchema.schema, doc: `variant ${randomUUID()}` });

  before(async () => {
    url = (await ensureInfra()).SCHEMA_REGISTRY_URL;
    body = (await new EventCodec(url).encode(`${uniquePrefix('faults')}mesh.conflicts`, conflictReported(3))).subarray(HEADER_SIZE);
  });

  it('given a record whose schema id the registry issues only later, when decoded before, then the failure is retriable, and once the id exists it decodes', async () => {
    // Ids are issued in sequence; another writer may take the next one first, so try a few times.
    for (let attempt = 0; attempt < 5; attempt++) {
      const codec = new EventCodec(url);
      const next = (await registerVariant()) + 1;
      const early = await failureOf(codec.decode(frame(next, body)));
      assert.equal(early.code, 'UNKNOWN_SCHEMA_ID');
      assert.equal(early.retriable, true, 'inside the grace: retried, not dead-lettered');
      const issued = await registerVariant();
      if (issued !== next) continue;
      const { event } = await codec.decode(frame(next, body));
      assert.equal(event.type, 'ConflictReported');
      return;
    }
    assert.fail('could not observe the registry issuing a predicted id in 5 tries');
  });

  it('given a URL that is not a schema registry, when a valid record is decoded, then the failure is retriable and says to check SCHEMA_REGISTRY_URL', async () => {
    const id = await registerVariant();
    const wrongPath = await failureOf(new EventCodec(url.replace(/\/apis\/ccompat\/v7$/, '/apis/nothing-here')).decode(frame(id, body)));
    assert.equal(wrongPath.retriable, true);
    assert.equal(wrongPath.code, 'REGISTRY_UNAVAILABLE');
    assert.match(wrongPath.message, /is SCHEMA_REGISTRY_URL right\?/);
  });

  it('given nothing listening at the registry URL, when a valid record is decoded, then the failure is retriable (the client reports it as HTTP 400, which is no verdict on the record)', async () => {
    const refused = await failureOf(new EventCodec('http://127.0.0.1:1').decode(frame(1, body)));
    assert.equal(refused.retriable, true);
    assert.equal(refused.code, 'REGISTRY_UNAVAILABLE');
  });

  it('given a registry that takes connections and never answers, when a valid record is decoded, then the failure is retriable within the request timeout instead of a wait without end', async () => {
    const silent: Server = createServer(() => undefined); // reads each request, answers none
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const started = Date.now();
      const hung = await failureOf(new EventCodec(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`).decode(frame(1, body)));
      assert.equal(hung.retriable, true);
      assert.equal(hung.code, 'REGISTRY_UNAVAILABLE');
      // (the client's own retries ask up to three times, each bounded by the timeout)
      assert.ok(Date.now() - started < 4 * REGISTRY_REQUEST_TIMEOUT_MS, `failed after ${Date.now() - started} ms`);
    } finally {
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
  });

  for (const status of [429, 401]) {
    it(`given a registry that answers ${status} (${status === 429 ? 'throttled' : 'credentials refused'}) for a while, when a valid record is decoded, then the failure is retriable and names the status, and once the registry answers the record decodes`, async () => {
      const id = await registerVariant();
      // The real registry behind a proxy that answers `status` until told to pass requests on.
      let refusing = true;
      const proxy: Server = createServer((req, res) => {
        if (refusing) {
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error_code: status * 100 + 1, message: status === 429 ? 'Too Many Requests' : 'Unauthorized' }));
          return;
        }
        void fetch(`${url}${req.url!.replace(/^\/registry/, '')}`, { method: req.method, headers: { accept: req.headers.accept ?? '*/*' } })
          .then(async (r) => res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await r.arrayBuffer())));
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
      try {
        const codec = new EventCodec(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}/registry`);
        const refused = await failureOf(codec.decode(frame(id, body)));
        assert.equal(refused.code, 'REGISTRY_UNAVAILABLE', `not a verdict on the record: ${refused.message}`);
        assert.equal(refused.retriable, true);
        assert.match(refused.message, new RegExp(`HTTP ${status}`));
        refusing = false;
        const { event } = await codec.decode(frame(id, body));
        assert.equal(event.type, 'ConflictReported');
      } finally {
        await new Promise((r) => proxy.close(r));
      }
    });
  }

  it('given 20,000 made-up schema ids, when decoded, then each is refused as UNKNOWN_SCHEMA_ID and almost none reached the registry', async () => {
    const codec = new EventCodec(url, undefined, { unknownIds: { graceMs: 0, cooldownMs: 60_000, rememberMs: 60_000, capacity: 1_000, missBurst: 20, missesPerSecond: 2, listRefreshMs: 1_000 } });
    const started = Date.now();
    let unasked = 0;
    for (let i = 0; i < 20_000; i++) {
      const err = await failureOf(codec.decode(frame(2_000_000_000 - i, body)));
      assert.equal(err.code, 'UNKNOWN_SCHEMA_ID');
      assert.equal(err.retriable, false);
      if (/was not looked up/.test(err.message)) unasked++;
    }
    const seconds = (Date.now() - started) / 1000;
    const asked = 20_000 - unasked;
    assert.ok(asked <= 20 + 2 * (seconds + 1), `${asked} lookups in ${seconds.toFixed(1)} s`);
  });
});
