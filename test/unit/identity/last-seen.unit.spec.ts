import assert from 'node:assert/strict';
import { loadEventSchemas } from '../../../schemas/catalog';
import { signingKeyFromSeed } from '../../../services/identity/ed25519';
import { foldLastSeen, sequenceTaken } from '../../../services/identity/last-seen';
import { MessageSigner } from '../../../services/identity/signer';
import type { LastSeen } from '../../../services/identity/verdict';
import { hb, S, T0 } from '../impedance/helpers';
import type { AgentKey } from '../../../schemas/generated/events';
import { keyRegistered } from '../../../services/identity/key-events';
import { foldKeyEvent } from '../../../services/identity/keys';
import { guarded } from '../../../services/runtime/message-guard';
import type { Processor, RecordContext } from '../../../services/runtime/processor';

// Given a guarded partition's log, when it is read back at assignment, then the last sequence per
// sender is what the guard had taken before the restart (issue 20: replays after a restart).
const schemas = loadEventSchemas();
const signer = new MessageSigner((t) => schemas.get(t)!.type);
const key = signingKeyFromSeed('agent-1');
const beat = (at: number) => signer.sign(hb({ agent: 'agent-1', at }), key);

describe('last sequences read back from the log (replay protection across restarts)', () => {
  it('given signed heartbeats applied, one dead-lettered as a forgery and one throttled, then the book holds the highest sequence taken and the latest event time', () => {
    const [a, b, c, d] = [beat(T0), beat(T0 + 5 * S), beat(T0 + 10 * S), beat(T0 + 15 * S)];
    const book = new Map<string, LastSeen>();
    foldLastSeen(book, a, 'HeartbeatReceived', undefined);
    foldLastSeen(book, b, 'HeartbeatReceived', 'THROTTLED');
    foldLastSeen(book, c, 'HeartbeatReceived', undefined);
    foldLastSeen(book, d, 'HeartbeatReceived', 'FORGED');
    assert.deepEqual(book.get('agent-1'), { seq: c.sender_seq, atUs: T0 + 10 * S });
  });

  it('given unsigned records, records of another type, or undecodable ones, then they leave the book alone', () => {
    const book = new Map<string, LastSeen>();
    foldLastSeen(book, hb({ agent: 'agent-1', at: T0 }), 'HeartbeatReceived', undefined);
    foldLastSeen(book, beat(T0), 'AckReceived', undefined);
    foldLastSeen(book, undefined, 'HeartbeatReceived', undefined);
    assert.equal(book.size, 0);
  });

  it('a sequence counts as taken unless the guard refused the record before taking it', () => {
    assert.deepEqual(['THROTTLED', undefined, 'REPLAYED', 'FORGED', 'UNSIGNED', 'INVALID'].map(sequenceTaken), [true, true, false, false, false, false]);
  });
});

describe('message guard: last sequences restored on assignment', () => {
  const book = new Map<string, readonly AgentKey[]>();
  foldKeyEvent(book, keyRegistered(book, 'agent-1', key, 0, 'spec'));
  const keys = { book: () => book, refreshFor: () => undefined };
  const applied: string[] = [];
  const inner: Processor<'HeartbeatReceived'> = { name: 'spec', inputs: ['mesh.heartbeats'], accepts: ['HeartbeatReceived'], handle: (e) => { applied.push(e.meta.event_id); return []; } };
  const ctx = (offset: number): RecordContext => ({ topic: 'mesh.heartbeats', partition: 0, offset: String(offset), timestampMs: 0, key: 'agent-1' });
  const guard = (restored: Map<string, Map<string, LastSeen>> | undefined) => guarded(inner, {
    keys, verify: { 'mesh.heartbeats': 'HeartbeatReceived' }, typeOf: (t) => schemas.get(t)!.type, producer: 'spec',
    ...(restored ? { restoreLastSeen: async () => restored } : {}),
  });
  const old = beat(T0 + 100 * S);

  it('given a partition assigned whose log shows the sender\'s sequence, when a message at or below it comes, then it is refused REPLAYED', async () => {
    const g = guard(new Map([['mesh.heartbeats/0', new Map([['agent-1', { seq: old.sender_seq!, atUs: old.meta.occurred_at }]])]]));
    await g.onAssigned!([{ topic: 'mesh.heartbeats', partition: 0 }]);
    assert.throws(() => g.handle(old, ctx(7)), (err: Error) => err.name === 'RecordRefused' && /REPLAYED|not above/.test(err.message));
  });

  it('given no read-back (the state starts empty), then the same message passes: what the restore closes', async () => {
    const g = guard(undefined);
    await g.onAssigned?.([{ topic: 'mesh.heartbeats', partition: 0 }]);
    applied.length = 0;
    g.handle(old, ctx(7));
    assert.deepEqual(applied, [old.meta.event_id]);
  });
});
