import assert from 'node:assert/strict';
import { loadEventSchemas } from '../../../schemas/catalog';
import type { HeartbeatReceived } from '../../../schemas/generated/events';
import { canonicalBody, canonicalOfFramed } from '../../../services/identity/canonical';
import { signingKeyFromSeed, verifyBytes } from '../../../services/identity/ed25519';
import { keyRegistered } from '../../../services/identity/key-events';
import { foldKeyEvent } from '../../../services/identity/keys';
import { MessageSigner } from '../../../services/identity/signer';
import { judge, type Claim } from '../../../services/identity/verdict';
import { frame } from '../../../services/runtime/wire-format';
import type { AgentKey } from '../../../schemas/generated/events';
import { hb } from '../impedance/helpers';

const schemas = loadEventSchemas();
const typeOf = (t: string) => schemas.get(t)!.type;

describe('signed messages (seed 002 §9.1): canonical body, verdict', () => {
  const key = signingKeyFromSeed('agent-1');
  const other = signingKeyFromSeed('mallory');
  const book = new Map<string, readonly AgentKey[]>();
  foldKeyEvent(book, keyRegistered(book, 'agent-1', key, 0, 'spec'));
  const signer = new MessageSigner(typeOf);
  const beat = hb({ agent: 'agent-1' });
  const signed = signer.sign(beat, key);
  const claim = (e: HeartbeatReceived): Claim => ({ sender: e.agent_id, atUs: e.meta.occurred_at, seq: e.sender_seq, signature: e.signature });
  const sigOf = (e: HeartbeatReceived) => (pub: Uint8Array) => verifyBytes(pub, canonicalBody(typeOf(e.type), e), e.signature!.sig);

  it('given a signed heartbeat as written (framed), when its canonical body is cut from the bytes, then it equals the body re-encoded with signature null', () => {
    const framed = frame(7, typeOf('HeartbeatReceived').toBuffer(signed));
    assert.deepEqual(canonicalOfFramed(framed, signed.signature!), canonicalBody(typeOf('HeartbeatReceived'), signed));
    assert.equal(canonicalOfFramed(framed.subarray(0, framed.length - 1), signed.signature!), undefined);
  });

  it('given every signed event schema, then signature is its last field and sender_seq comes before it (canonicalOfFramed depends on it)', () => {
    for (const t of ['HeartbeatReceived', 'AckReceived', 'VerifierVoteCast']) {
      const names = (schemas.get(t)!.schema.fields as Array<{ name: string }>).map((f) => f.name);
      assert.equal(names[names.length - 1], 'signature', t);
      assert.ok(names.indexOf('sender_seq') >= 0 && names.indexOf('sender_seq') < names.length - 1, t);
    }
  });

  it('given a valid signature and a new sequence, then it is accepted; the same again (a replay) is REPLAYED', () => {
    assert.deepEqual(judge(claim(signed), book, undefined, true, sigOf(signed)), { ok: true, seq: signed.sender_seq });
    const again = judge(claim(signed), book, { seq: signed.sender_seq!, atUs: signed.meta.occurred_at }, true, sigOf(signed));
    assert.deepEqual(again.ok ? undefined : [again.reason, again.ownKey], ['REPLAYED', false], 'anyone can resend a message: not counted against the sender');
  });

  it('given a newer message signed by the agent under a sequence already used, then REPLAYED under its own key (only the key holder could sign it)', () => {
    // The agent's last message accepted: `signed`. Its key then signs a message dated 5 s later under that same sequence.
    const reused = signer.sign(hb({ agent: 'agent-1', at: beat.meta.occurred_at + 5_000_000 }), key, signed.sender_seq!);
    const v = judge(claim(reused), book, { seq: signed.sender_seq!, atUs: signed.meta.occurred_at }, true, sigOf(reused));
    assert.deepEqual(v.ok ? undefined : [v.reason, v.ownKey], ['REPLAYED', true]);
  });

  it('given a changed field after signing, then FORGED, not counted against the agent (anyone can name its key id; the signature is not its)', () => {
    const tampered = { ...signed, latency_ms: signed.latency_ms + 1 };
    const v = judge(claim(tampered), book, undefined, true, sigOf(tampered));
    assert.deepEqual(v.ok ? undefined : [v.reason, v.ownKey], ['FORGED', false]);
  });

  it('given a message signed by a key the sender does not have, then UNKNOWN_KEY, not own key', () => {
    const forged = signer.sign(beat, other);
    const v = judge(claim(forged), book, undefined, true, sigOf(forged));
    assert.deepEqual(v.ok ? undefined : [v.reason, v.ownKey], ['UNKNOWN_KEY', false]);
  });

  it('given an unsigned message, then UNSIGNED when signing is required and accepted when it is not', () => {
    assert.equal((judge(claim(beat), book, undefined, true, sigOf(signed)) as { reason: string }).reason, 'UNSIGNED');
    assert.equal(judge(claim(beat), book, undefined, false, sigOf(signed)).ok, true);
  });

  it('given a sender whose sequence restarted (its counter lost), then its numbers still rise: at least the event time in µs', () => {
    const a = new MessageSigner(typeOf).sign(hb({ agent: 'agent-1', at: 2_000_000 }), key);
    const b = new MessageSigner(typeOf).sign(hb({ agent: 'agent-1', at: 3_000_000 }), key);
    assert.ok(b.sender_seq! > a.sender_seq!);
  });
});
