import assert from 'node:assert/strict';
import { readServiceConfig } from '../../../services/runtime/service';
import { readKnobs } from '../../../services/runtime/knobs';
import { solverService } from '../../../services/solver';
import { SOLVER_KNOBS, solverRunnerTuning, solverTuning } from '../../../services/solver/config';
import { DEFAULT_SOLVER_LIMITS } from '../../../services/solver/domain';

describe('solver knobs (SOLVER_*)', () => {
  it('given no SOLVER_* variable, when read, then the tuning is the solver\'s defaults', () => {
    const t = solverTuning(readKnobs(SOLVER_KNOBS, {}));
    assert.deepEqual(t.limits, DEFAULT_SOLVER_LIMITS);
    assert.deepEqual({ ...t, limits: undefined }, {
      limits: undefined, sliceWork: 5_000_000, slowSliceMs: 1000, snapshotEvery: 50_000, snapshotMicros: 30e6, maxBatchRecords: 2000,
      consumer: { pollTimeoutMs: 100, returnAvailable: true, retryBackoffMs: 1, overlapCommit: true, carryEmpty: true },
    });
  });

  it('given variables, when read, then they reach the limits and the runner in their units', () => {
    const k = readKnobs(SOLVER_KNOBS, { SOLVER_MAX_ROWS: '100', SOLVER_IDLE_TIMEOUT_S: '2', SOLVER_MIN_GROUP_INTERVAL_MS: '0', SOLVER_SNAPSHOT_S: '1.5', SOLVER_OVERLAP_COMMIT: '2', SOLVER_CARRY_EMPTY: '2', SOLVER_MAX_BATCH_RECORDS: '50' });
    const t = solverTuning(k);
    assert.equal(t.limits.maxRows, 100);
    assert.equal(t.limits.idleTimeoutMicros, 2e6);
    assert.equal(t.limits.minGroupIntervalMicros, 0, '0 turns the tick wait off');
    assert.equal(t.snapshotMicros, 1.5e6);
    assert.deepEqual(solverRunnerTuning(k), { maxBatchRecords: 50, consumerTuning: { pollTimeoutMs: 100, returnAvailable: true, retryBackoffMs: 1, overlapCommit: false, carryEmpty: false } });
  });

  it('given zero or a negative where a positive number is needed, when read, then each is named with an example', () => {
    assert.throws(() => readKnobs(SOLVER_KNOBS, { SOLVER_MAX_NNZ: '0', SOLVER_MIN_GROUP_INTERVAL_MS: '-1', SOLVER_SLICE_WORK: 'lots' }), (err: Error) => {
      assert.match(err.message, /SOLVER_MAX_NNZ="0": a number > 0; e\.g\. SOLVER_MAX_NNZ=20000000/);
      assert.match(err.message, /SOLVER_MIN_GROUP_INTERVAL_MS="-1": a number >= 0; e\.g\. SOLVER_MIN_GROUP_INTERVAL_MS=5/);
      assert.match(err.message, /SOLVER_SLICE_WORK="lots": a number > 0; e\.g\. SOLVER_SLICE_WORK=5000000/);
      return true;
    });
  });

  it('given a bad runtime variable and a bad solver variable, when the service\'s config is read, then one error names both', () => {
    assert.throws(() => readServiceConfig(solverService, { HTTP_PORT: '-1', SOLVER_MAX_ROWS: '0' }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.match(err.message, /\(2 bad variables\)/);
      assert.match(err.message, /HTTP_PORT="-1"/);
      assert.match(err.message, /SOLVER_MAX_ROWS="0"/);
      return true;
    });
  });

  it('given a valid environment, when the service\'s config is read, then it holds the runtime\'s and the solver\'s values', () => {
    const c = readServiceConfig(solverService, { TOPIC_PREFIX: 't.', SOLVER_COALESCE_MAX: '7' });
    assert.equal(c.topicPrefix, 't.');
    assert.equal(c.solverCoalesceMax, 7);
    // The defaults as the runner receives them (solverService.runnerTuning is solverRunnerTuning).
    assert.deepEqual(solverService.runnerTuning?.(c), { maxBatchRecords: 2000, consumerTuning: { pollTimeoutMs: 100, returnAvailable: true, retryBackoffMs: 1, overlapCommit: true, carryEmpty: true } });
  });
});
