import assert from 'node:assert/strict';
import { MAX_MEASURED_US, MIN_SAMPLE_MESSAGES, ProductionCost } from '../../../services/coordinator/production-cost';

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

  it(`given releases below ${MIN_SAMPLE_MESSAGES} messages (the fixed part of the path dominates), then they are not samples`, () => {
    const c = new ProductionCost(50, 100);
    c.observe(MIN_SAMPLE_MESSAGES - 1, 0, 5000);
    assert.equal(c.perMessageUs(), 50);
  });
});
