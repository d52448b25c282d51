import assert from 'node:assert/strict';
import { deadLetter, DLQ_HEADERS } from '../../../services/runtime/dead-letter';
import { poison } from '../../../services/runtime/errors';
import { derivedEventId } from '../../../services/runtime/ids';

describe('dead-letter records', () => {
  const record = {
    topic: 'p.mesh.heartbeats', partition: 3, offset: '1234', key: Buffer.from('agent-1'),
    value: Buffer.from([9, 9, 9]), headers: { trace: 'abc' }, timestamp: '1700000000000',
  };

  it('keep the raw bytes and key and name the error and the source position', () => {
    const out = deadLetter(record, poison('VALIDATION_FAILED', 'latency_ms is NaN'), 'impedance');
    assert.equal(out.topic, 'p.mesh.heartbeats.dlq');
    assert.deepEqual(out.value, record.value);
    assert.deepEqual(out.key, record.key);
    assert.deepEqual(out.headers, {
      trace: 'abc',
      [DLQ_HEADERS.errorClass]: 'VALIDATION_FAILED',
      [DLQ_HEADERS.errorMessage]: 'latency_ms is NaN',
      [DLQ_HEADERS.sourceTopic]: 'p.mesh.heartbeats',
      [DLQ_HEADERS.sourcePartition]: '3',
      [DLQ_HEADERS.sourceOffset]: '1234',
      [DLQ_HEADERS.sourceTimestamp]: '1700000000000',
      [DLQ_HEADERS.processor]: 'impedance',
    });
  });

  it('turn a null value (tombstone) into an empty payload rather than dropping it', () => {
    assert.equal(deadLetter({ ...record, value: null }, new Error('x'), 'p').value.length, 0);
  });
});

describe('derived event ids', () => {
  it('are the same for the same cause and discriminator, and differ otherwise', () => {
    const a = derivedEventId('e-1', 'quarantined');
    assert.equal(a, derivedEventId('e-1', 'quarantined'));
    assert.notEqual(a, derivedEventId('e-1', 'escalated'));
    assert.notEqual(a, derivedEventId('e-2', 'quarantined'));
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
