// A refused message's report must itself be a valid event: the conflict intake validates what it
// reads, and a report it dead-letters opens no conflict (found by make soak: hostile acks at the
// schemas' string limits made reports of 4,100+ characters).
import assert from 'node:assert/strict';
import { arbitraryEvent, seededRng } from '../../../schemas/arbitrary';
import type { AckReceived } from '../../../schemas/generated/events';
import { DEFAULT_LIMITS, validateEvent } from '../../../schemas/validate';
import { payloadMismatchReport, refusalReport } from '../../../services/identity/reports';

const long = 'x'.repeat(DEFAULT_LIMITS.maxStringLength);
const ack = (): AckReceived => ({ ...(arbitraryEvent('AckReceived', seededRng(7)) as AckReceived), agent_id: long, payload_hash: long });

describe('refusal reports at the string limits', () => {
  it('given an ack whose agent id and payload hash are at the limit, when its payload hash mismatches, then the report validates', () => {
    const report = payloadMismatchReport(ack(), long, true, { topic: 'mesh.acks', partition: 1, offset: '5' }, 'coordinator');
    assert.deepEqual(validateEvent(report), []);
    assert.ok(report.detail.received_value?.startsWith('PAYLOAD_HASH_MISMATCH: ack '));
  });

  it('given a forged ack from a sender at the limit, when refused with a long detail, then the report validates', () => {
    const report = refusalReport(ack(), { reason: 'BAD_SIGNATURE', detail: long, keyId: null, ownKey: false }, { topic: 'mesh.acks', partition: 0, offset: '9' }, 'impedance');
    assert.deepEqual(validateEvent(report), []);
  });
});
