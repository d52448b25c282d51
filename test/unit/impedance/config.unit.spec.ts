import assert from 'node:assert/strict';
import { impedanceService } from '../../../services/impedance';
import { IMPEDANCE_KNOBS, impedanceTuning } from '../../../services/impedance/config';
import { readKnobs } from '../../../services/runtime/knobs';
import { readServiceConfig } from '../../../services/runtime/service';

describe('impedance knobs (IMPEDANCE_*)', () => {
  it('given no IMPEDANCE_* variable, when read, then the processor gets its documented defaults', () => {
    assert.deepEqual(impedanceTuning(readKnobs(IMPEDANCE_KNOBS, {})), { registryLagMs: 1000, checkpointMs: 10_000, caughtUpMs: 5000, maxPendingAckAgents: 50_000, agentQueueLimit: 100 });
  });

  it('given zeros (every batch, never caught up), when read, then they are taken', () => {
    assert.deepEqual(impedanceTuning(readKnobs(IMPEDANCE_KNOBS, { IMPEDANCE_REGISTRY_LAG_MS: '250', IMPEDANCE_CHECKPOINT_MS: '0', IMPEDANCE_CAUGHT_UP_MS: '0', IMPEDANCE_AGENT_QUEUE_LIMIT: '0' })),
      { registryLagMs: 250, checkpointMs: 0, caughtUpMs: 0, maxPendingAckAgents: 50_000, agentQueueLimit: 0 });
  });

  it('given negative or non-numeric values beside a bad runtime variable, when the service\'s config is read, then one error names all three', () => {
    assert.throws(() => readServiceConfig(impedanceService, { IMPEDANCE_CHECKPOINT_MS: '-5', IMPEDANCE_CAUGHT_UP_MS: 'soon', KAFKA_CLIENT: 'java' }), (err: Error) => {
      assert.match(err.message, /\(3 bad variables\)/);
      assert.match(err.message, /IMPEDANCE_CHECKPOINT_MS="-5": a number >= 0; e\.g\. IMPEDANCE_CHECKPOINT_MS=10000/);
      assert.match(err.message, /IMPEDANCE_CAUGHT_UP_MS="soon": a number >= 0; e\.g\. IMPEDANCE_CAUGHT_UP_MS=5000/);
      assert.match(err.message, /KAFKA_CLIENT="java": one of rdkafka, kafkajs/);
      return true;
    });
  });
});
