import assert from 'node:assert/strict';
import { loadEventSchemas } from '../../../schemas/catalog';
import type { HeartbeatReceived } from '../../../schemas/generated/events';
import { EventCodec } from '../../../services/runtime/codec';
import { SolvermeshError } from '../../../services/runtime/errors';
import { frame } from '../../../services/runtime/wire-format';
import { hb } from '../impedance/helpers';

// decodeKnown reads every record with one cursor per writer schema: these specs hold it to
// what avsc's own decoding answers, a bad record in between included.
const SCHEMA_ID = 41;

/** A codec whose registry knows one schema id, HeartbeatReceived, without a server. */
async function codecKnowingHeartbeats(): Promise<EventCodec> {
  const codec = new EventCodec('http://127.0.0.1:9');
  const writer = loadEventSchemas().get('HeartbeatReceived')!.type;
  (codec as unknown as { registry: { getSchema: (id: number) => Promise<unknown> } }).registry = {
    getSchema: async (id) => { assert.equal(id, SCHEMA_ID); return writer; },
  };
  return codec;
}

const body = (e: HeartbeatReceived) => {
  const { type, ...rest } = e;
  void type;
  return loadEventSchemas().get('HeartbeatReceived')!.type.toBuffer(rest);
};

describe('runtime: the codec decodes known schema ids', () => {
  it('gives each record its own fields, and a truncated or overlong record is DECODE_FAILED without spoiling the next', async () => {
    // given a codec that has seen the schema id once (decode() fetches the reader)
    const codec = await codecKnowingHeartbeats();
    const a = hb({ agent: 'agent-a', caps: ['api', 'cache'], latency: 12.5 });
    const b = hb({ agent: 'agent-bb', caps: [], latency: 99 });
    assert.equal((await codec.decode(frame(SCHEMA_ID, body(a)))).event.agent_id, 'agent-a');
    // when records decode one after the other, bad ones among them
    const good = codec.decodeKnown(frame(SCHEMA_ID, body(b)));
    const truncated = frame(SCHEMA_ID, body(a).subarray(0, 20));
    const trailing = frame(SCHEMA_ID, Buffer.concat([body(a), Buffer.from([0])]));
    const failure = (v: Buffer) => { try { codec.decodeKnown(v); } catch (err) { return err; } return undefined; };
    const t = failure(truncated);
    const x = failure(trailing);
    const after = codec.decodeKnown(frame(SCHEMA_ID, body(a)));
    // then each is what avsc's fromBuffer makes of it
    const plain = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown; // avsc's records have classes
    assert.deepEqual(plain(good), plain(b));
    assert.deepEqual(plain(after), plain(a));
    assert.ok(t instanceof SolvermeshError && t.code === 'DECODE_FAILED' && /truncated/.test(t.message), String(t));
    assert.ok(x instanceof SolvermeshError && x.code === 'DECODE_FAILED' && /trailing data/.test(x.message), String(x));
  });
});
