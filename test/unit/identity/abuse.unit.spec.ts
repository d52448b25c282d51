import assert from 'node:assert/strict';
import { limitOf, stepAbuse, RATE_WINDOW_US, type SenderRate } from '../../../services/identity/abuse';

const S = 1_000_000;
const W0 = 1_700_000_010 * S - ((1_700_000_010 * S) % RATE_WINDOW_US);

/** Runs `n` heartbeats spread evenly over [from, from + spanUs), received 10 ms after they were sent. */
function run(state: SenderRate | undefined, from: number, spanUs: number, n: number) {
  let s = state;
  let throttled = 0;
  let firsts = 0;
  for (let i = 0; i < n; i++) {
    const at = from + Math.floor((i * spanUs) / n);
    const step = stepAbuse(s, at, at + 10_000);
    s = step.state;
    if (step.rate.kind === 'throttle') { throttled++; if (step.rate.first) firsts++; }
  }
  return { state: s!, throttled, firsts };
}

describe('abuse (seed 002 §9.2): 10x its own baseline is throttled, timing anomalies reported', () => {
  it('given the seed baseline (1 per 5 s = 0.2/s), then the limit of a 30 s window is floor(10 x 0.2 x 30) = 60', () => {
    assert.equal(limitOf(0.2), 60);
  });

  it('given an agent at its rate (6 per 30 s), then nothing is throttled', () => {
    assert.equal(run(undefined, W0, RATE_WINDOW_US, 6).throttled, 0);
  });

  it('given an agent flooding at 20x (120 in 30 s), then 120 - 60 = 60 are throttled, reported once, and the flood does not raise its baseline', () => {
    const r = run(undefined, W0, RATE_WINDOW_US, 120);
    assert.equal(r.throttled, 60);
    assert.equal(r.firsts, 1);
    const next = run(r.state, W0 + RATE_WINDOW_US, RATE_WINDOW_US, 120);
    assert.equal(next.state.baseline, 0.2);
    assert.equal(next.throttled, 60);
  });

  it('given a window of 12 heartbeats (0.4/s), then the next baseline is 0.8 x 0.2 + 0.2 x 0.4 = 0.24/s and the limit floor(10 x 0.24 x 30) = 72', () => {
    const r = run(undefined, W0, RATE_WINDOW_US, 12);
    const next = stepAbuse(r.state, W0 + RATE_WINDOW_US, W0 + RATE_WINDOW_US);
    assert.ok(Math.abs(next.state.baseline - 0.24) < 1e-12);
    assert.equal(limitOf(next.state.baseline), 72);
  });

  it('given a heartbeat dated before the previous one, or received before it was sent, then a timing anomaly, once per window', () => {
    const a = stepAbuse(undefined, W0 + 10 * S, W0 + 10 * S + 1000);
    const back = stepAbuse(a.state, W0 + 5 * S, W0 + 5 * S + 1000);
    assert.deepEqual(back.timing, { kind: 'BACKDATED', byUs: 5 * S });
    assert.equal(stepAbuse(back.state, W0 + 4 * S, W0 + 4 * S + 1000).timing, undefined);
    const early = stepAbuse(back.state, W0 + RATE_WINDOW_US + 1, W0 + RATE_WINDOW_US - 99);
    assert.deepEqual(early.timing, { kind: 'RECEIVED_BEFORE_SENT', byUs: 100 });
  });
});
