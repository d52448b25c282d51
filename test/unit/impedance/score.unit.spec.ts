import assert from 'node:assert/strict';
import {
  degradedThreshold, driftCoefficient, impedanceScore, missedHeartbeats, nominalScore, p50, p95, quantile, recordHeartbeat, reliability,
} from '../../../services/impedance/score';
import { close } from './helpers';

describe('impedance: score components (seed 002 §2.3, §4)', () => {
  it('p50 is the nearest-rank median (lower middle for an even count)', () => {
    assert.equal(p50([80, 120, 100]), 100);
    assert.equal(p50([110, 90, 110, 90]), 90);
    assert.equal(p50([]), 0);
  });

  it('drift is the population std-dev over the mean', () => {
    close(driftCoefficient([90, 110, 90, 110]), 0.1);
    assert.equal(driftCoefficient([100]), 0);
    assert.equal(driftCoefficient([0, 0]), 0);
  });

  it('p95 matches Python statistics.quantiles(data, n=20)[18]', () => {
    // statistics.quantiles(range(1, 31), n=20)[18] == 29.45
    close(p95(Array.from({ length: 30 }, (_, i) => i + 1)), 29.45);
    // statistics.quantiles([1, 2, 3, 4], n=20)[18] == 4.75 extrapolates past the maximum: p95 clamps to 4
    close(quantile([1, 2, 3, 4], 20, 19), 4.75);
    close(p95([1, 2, 3, 4]), 4);
    // statistics.quantiles([10, 20], n=4) == [7.5, 15.0, 22.5]
    close(quantile([10, 20], 4, 2), 15);
    assert.equal(p95([7]), 7);
    assert.equal(p95([]), 0);
  });

  it('reliability counts one miss per 5 s of silence beyond the first interval, over the last hour', () => {
    assert.equal(missedHeartbeats(5_000), 0);
    assert.equal(missedHeartbeats(7_400), 0);
    assert.equal(missedHeartbeats(17_000), 2);
    let b = recordHeartbeat([], 0, 0);
    b = recordHeartbeat(b, 5_000, 0);
    b = recordHeartbeat(b, 22_000, missedHeartbeats(17_000));
    close(reliability(b, 22_000), 3 / 5);
    // an hour later the old buckets no longer count
    assert.equal(reliability(b, 3_600_000), 1);
    b = recordHeartbeat(b, 3_600_000, 1);
    close(reliability(b, 3_600_000), 1 / 2);
    assert.equal(b.length, 1, 'buckets older than an hour are dropped');
  });

  it('score = (L/2 + P(1 + 0.1Q) + D*L) / max(R, 0.1), capped at 1000', () => {
    // L 90, P 50, Q 2, D 0.1, R 1: 45 + 60 + 9 = 114
    close(impedanceScore({ latencyMs: 90, processingMs: 50, queueDepth: 2, drift: 0.1, reliability: 1 }), 114);
    // the same agent with 60 % reliability: 114 / 0.6 = 190
    close(impedanceScore({ latencyMs: 90, processingMs: 50, queueDepth: 2, drift: 0.1, reliability: 0.6 }), 190);
    // reliability floored at 0.1: (5 + 10) / 0.1 = 150
    close(impedanceScore({ latencyMs: 10, processingMs: 10, queueDepth: 0, drift: 0, reliability: 0 }), 150);
    assert.equal(impedanceScore({ latencyMs: 5000, processingMs: 60_000, queueDepth: 0, drift: 0, reliability: 1 }), 1000);
  });

  it('degraded above min(800, 2x the class nominal); humans never by score', () => {
    close(nominalScore('CLASS_A_EDGE'), 16.25);
    close(degradedThreshold('CLASS_A_EDGE'), 32.5);
    close(degradedThreshold('CLASS_C_PERSISTENT'), 600);
    assert.equal(degradedThreshold('CLASS_F_HUMAN'), Infinity);
  });
});
