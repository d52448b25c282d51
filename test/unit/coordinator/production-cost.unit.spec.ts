import assert from 'node:assert/strict';
import { MAX_MEASURED_AHEAD_MS, MAX_MEASURED_US, MIN_SAMPLE_MESSAGES, ProductionCost } from '../../../services/coordinator/production-cost';

describe('dispatch production cost per message (the release rule\'s allowance, measured)', () => {
  it('given nothing measured, then the knob\'s 50 µs', () => {
    assert.equal(new ProductionCost(50, 100).perMessageUs(), 50);
  });

  it('given 23,000 messages readable 1,940 ms after their tick with a 100 ms allowance, then (1,940 - 100) ms / 23,000 = 80 µs a message', () => {
    const c = new ProductionCost(50, 100);
    c.observe(23_000, 10_000, 11_940);
    assert.equal(c.perMessageUs(), 80);
  });

  it('given a second release at 40 µs, then the EWMA (0.5) moves halfway: 60 µs; a cheaper path never goes below the knob', () => {
    const c = new ProductionCost(50, 100);
    c.observe(23_000, 10_000, 11_940);
    c.observe(10_000, 20_000, 20_500);
    assert.equal(c.perMessageUs(), 60);
    for (let i = 0; i < 10; i++) c.observe(10_000, 0, 100);
    assert.equal(c.perMessageUs(), 50);
  });

  it(`given a release that took 10 s (a stalled broker), then at most ${MAX_MEASURED_US} µs a message`, () => {
    const c = new ProductionCost(50, 100);
    c.observe(10_000, 0, 10_000);
    assert.equal(c.perMessageUs(), MAX_MEASURED_US);
  });

  it('given the knob at 0 (one tick per bucket), then 0 whatever was measured', () => {
    const c = new ProductionCost(0, 100);
    c.observe(23_000, 10_000, 11_940);
    assert.equal(c.perMessageUs(), 0);
  });

  it(`given releases below ${MIN_SAMPLE_MESSAGES} messages (the fixed part of the path dominates), then they are not samples of the cost per message`, () => {
    const c = new ProductionCost(50, 100);
    c.observe(MIN_SAMPLE_MESSAGES - 1, 0, 5000);
    assert.equal(c.perMessageUs(), 50);
  });
});

describe('dispatch transport allowance (ticks written ahead of their bucket), measured on small releases', () => {
  it('given nothing measured, or small releases readable sooner than the knob\'s 100 ms, then 100 ms', () => {
    const c = new ProductionCost(50, 100);
    assert.equal(c.aheadMs(), 100);
    c.observe(10, 0, 40);
    assert.equal(c.aheadMs(), 100);
  });

  it('given a 300-message release readable 286 ms after its tick (the coordination int spec at load 15-20: appended 186 ms after send_at with 100 ms ahead), then 286 ms; a second at 186 ms moves it a fifth of the way: 266 ms', () => {
    const c = new ProductionCost(50, 100);
    c.observe(300, 10_000, 10_286);
    assert.equal(c.aheadMs(), 286);
    c.observe(300, 20_000, 20_186);
    assert.equal(c.aheadMs(), 266);
  });

  it(`given a small release that took 10 s (a stalled broker), then at most ${MAX_MEASURED_AHEAD_MS} ms; and a large release's cost per message is counted beyond the measured allowance`, () => {
    const c = new ProductionCost(50, 100);
    c.observe(10, 0, 10_000);
    assert.equal(c.aheadMs(), MAX_MEASURED_AHEAD_MS);
    c.observe(10_000, 0, MAX_MEASURED_AHEAD_MS + 1000);
    assert.equal(c.perMessageUs(), 100);
  });

  it('given the per-message knob at 0 (one tick per bucket, nothing measured), then the knob\'s allowance whatever the releases took', () => {
    const c = new ProductionCost(0, 100);
    c.observe(10, 0, 400);
    assert.equal(c.aheadMs(), 100);
  });
});
