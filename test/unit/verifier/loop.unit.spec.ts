import assert from 'node:assert/strict';
import { correctionFor, forDrift } from '../../../services/verifier/correction';
import { EMPTY_HISTORY, track, variance, type Assessment, type History } from '../../../services/verifier/history';
import { componentTolerance, fnv1a, probeSeed, sampleRows, summarize } from '../../../services/verifier/probes';
import { adapt, nextInterval } from '../../../services/solver/schedule';

const TOL = 1e-8;
const feed = (samples: number[], tol = TOL): { history: History; last: Assessment } => {
  let h = EMPTY_HISTORY;
  let last: Assessment | undefined;
  for (const r of samples) ({ history: h, assessment: last } = track(h, r, tol));
  return { history: h, last: last! };
};

describe('verifier: probe rows (seed 000 §5.1)', () => {
  it('derives the seed with FNV-1a (known vectors) from session, iteration and group', () => {
    assert.equal(fnv1a(''), 0x811c9dc5);
    assert.equal(fnv1a('a'), 0xe40c292c);
    assert.equal(fnv1a('foobar'), 0xbf9cf968);
    const s = 'a0a0a0a0-0000-4000-8000-000000000001';
    assert.equal(probeSeed(s, 42, 'g1'), probeSeed(s, 42, 'g1'));
    assert.notEqual(probeSeed(s, 42, 'g1'), probeSeed(s, 42, 'g2'));
    assert.notEqual(probeSeed(s, 42, 'g1'), probeSeed(s, 43, 'g1'));
    assert.notEqual(probeSeed(s, 42, 'g1', 7), probeSeed(s, 42, 'g1'));
  });

  it('given a seed, draws the same k distinct ascending rows of a 1e6-row session every time', () => {
    const rows = sampleRows(1_000_000, 1000, 12345);
    assert.equal(rows.length, 1000);
    assert.deepEqual(rows, sampleRows(1_000_000, 1000, 12345));
    for (let i = 1; i < rows.length; i++) assert.ok(rows[i]! > rows[i - 1]!);
    assert.ok(rows[0]! >= 0 && rows.at(-1)! < 1_000_000);
    assert.notDeepEqual(rows, sampleRows(1_000_000, 1000, 12346));
  });

  it('probes every row when asked for at least n', () => {
    assert.deepEqual([...sampleRows(5, 100, 1)], [0, 1, 2, 3, 4]);
  });

  it('summarises residuals as |r|, max, mean and the relative residual sqrt(mean r^2) / (||b|| / sqrt(n))', () => {
    const s = summarize([3, -4], 10, 4);
    assert.deepEqual([...s.components], [3, 4]);
    assert.equal(s.maxError, 4);
    assert.equal(s.meanError, 3.5);
    // sqrt(12.5) / (10 / 2)
    assert.ok(Math.abs(s.relativeResidual - 0.7071067811865476) < 1e-15);
    assert.ok(Number.isNaN(summarize([1, NaN], 1, 1).maxError), 'a NaN residual is never read as 0');
    assert.equal(componentTolerance(1e-8, 1000), 1e-5);
  });
});

describe('verifier: residual history (seed 000 §5.2-5.3)', () => {
  it('takes the first sample as baseline with no drift', () => {
    const { history, last } = feed([1]);
    assert.deepEqual(history, { kind: 'tracking', baseline: 1, ewma: 1, window: [1] });
    assert.deepEqual(last, { severity: 0, drift: false, stagnation: false, divergence: false });
  });

  it('smooths with alpha 0.1 and alerts above 10%: 1, 1.5 -> ewma 1.05 (severity 0.05, no alert); 1, 2, 3 -> ewma 1.29 (severity 0.29, alert)', () => {
    const two = feed([1, 1.5]);
    assert.ok(two.history.kind === 'tracking' && Math.abs(two.history.ewma - 1.05) < 1e-15);
    assert.ok(Math.abs(two.last.severity - 0.05) < 1e-12);
    assert.equal(two.last.drift, false);
    const three = feed([1, 2, 3]);
    assert.ok(three.history.kind === 'tracking' && Math.abs(three.history.ewma - 1.29) < 1e-15);
    assert.ok(Math.abs(three.last.severity - 0.29) < 1e-12);
    assert.equal(three.last.drift, true);
  });

  it('reports a falling residual as drift too (|ewma - baseline|): 1, 0 -> ewma 0.9, severity 0.1; 1, 0, 0 -> 0.81, severity 0.19', () => {
    assert.ok(Math.abs(feed([1, 0]).last.severity - 0.1) < 1e-12);
    assert.ok(Math.abs(feed([1, 0, 0]).last.severity - 0.19) < 1e-12);
  });

  it('raises no drift while the smoothed residual is within the tolerance (rounding noise of a converged x)', () => {
    const { last } = feed([1e-10, 3e-10, 5e-10]);
    assert.ok(last.severity > 0.1);
    assert.equal(last.drift, false);
  });

  it('detects stagnation at the 50th sample whose variance is under 1e-12, above the tolerance only', () => {
    assert.equal(feed(Array(49).fill(0.5)).last.stagnation, false);
    assert.equal(feed(Array(50).fill(0.5)).last.stagnation, true);
    // variance of alternating 0.5 +- 1e-6 is 1e-12: not under it.
    const alternating = Array.from({ length: 50 }, (_, i) => 0.5 + (i % 2 ? 1e-6 : -1e-6));
    assert.ok(Math.abs(variance(alternating) - 1e-12) < 1e-20);
    assert.equal(feed(alternating).last.stagnation, false);
    assert.equal(feed(Array(50).fill(1e-10)).last.stagnation, false, 'a converged residual is not stagnation');
  });

  it('detects divergence: ten times the best of the window above the tolerance, or a non-finite residual', () => {
    assert.equal(feed([1e-3, 9.9e-3]).last.divergence, false);
    assert.equal(feed([1e-3, 1e-2]).last.divergence, true);
    assert.equal(feed([1e-12, 1e-9], 1e-8).last.divergence, false, 'within tolerance');
    assert.equal(feed([1e-3, NaN]).last.divergence, true);
    assert.equal(feed([NaN]).last.divergence, true);
  });
});

describe('verifier: severity -> CorrectionRequested (seed 000 §5.4)', () => {
  it('adjusts the step (x0.8) below 0.2, restarts with ILU below 0.5, restarts fully from 0.5', () => {
    assert.deepEqual(forDrift(0.19), { action: 'ADJUST_STEP', stepFactor: 0.8, preconditioner: null });
    assert.deepEqual(forDrift(0.2), { action: 'RESTART_PRECONDITIONER', stepFactor: null, preconditioner: 'ILU' });
    assert.deepEqual(forDrift(0.49), { action: 'RESTART_PRECONDITIONER', stepFactor: null, preconditioner: 'ILU' });
    assert.deepEqual(forDrift(0.5), { action: 'FULL_RESTART', stepFactor: null, preconditioner: null });
  });

  it('given the history 1, 2, 3 (severity 0.29) and a failed check, asks for a restart with ILU', () => {
    const c = correctionFor(feed([1, 2, 3]).last, false);
    assert.equal(c?.trigger, 'DRIFT');
    assert.equal(c?.action, 'RESTART_PRECONDITIONER');
    assert.equal(c?.preconditioner, 'ILU');
  });

  it('asks nothing of a verified solution, a full restart on divergence, ILU on stagnation', () => {
    const diverging = feed([1e-3, 1]).last;
    assert.equal(correctionFor(diverging, true), null);
    assert.equal(correctionFor(diverging, false)?.action, 'FULL_RESTART');
    assert.equal(correctionFor(diverging, false)?.trigger, 'DIVERGENCE');
    const stagnant = feed(Array(50).fill(0.5)).last;
    assert.deepEqual([correctionFor(stagnant, false)?.trigger, correctionFor(stagnant, false)?.action], ['STAGNATION', 'RESTART_PRECONDITIONER']);
    assert.equal(correctionFor(feed([0.5, 0.5]).last, false), null, 'a failed check with no drift, stagnation or divergence asks nothing');
  });
});

describe('verifier: adaptive interval (seed 000 §5.5)', () => {
  it('grows x1.1 per success up to 2.0: 1.1, 1.21, ... 1.9487 after 7, capped at 2 on the 8th', () => {
    let m = 1;
    const seen: number[] = [];
    for (let i = 0; i < 9; i++) seen.push((m = adapt(m, true)));
    assert.ok(Math.abs(seen[0]! - 1.1) < 1e-12 && Math.abs(seen[1]! - 1.21) < 1e-12);
    assert.ok(Math.abs(seen[6]! - 1.9487171) < 1e-7);
    assert.equal(seen[7], 2);
    assert.equal(seen[8], 2);
  });

  it('shrinks x0.8 per failure down to 0.5: 0.8, 0.64, 0.512, then 0.5', () => {
    let m = 1;
    const seen = [1, 2, 3, 4].map(() => (m = adapt(m, false)));
    assert.ok(Math.abs(seen[0]! - 0.8) < 1e-12 && Math.abs(seen[1]! - 0.64) < 1e-12 && Math.abs(seen[2]! - 0.512) < 1e-12);
    assert.equal(seen[3], 0.5);
  });

  it('turns the multiplier into the next interval in iterations, at least 1', () => {
    assert.equal(nextInterval(100, 1.21), 121);
    assert.equal(nextInterval(100, 0.5), 50);
    assert.equal(nextInterval(1, 0.5), 1);
  });
});
