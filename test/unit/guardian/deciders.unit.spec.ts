// The thresholds of the cascade reflex, latency regression, pattern learner, degradation modes
// and partition handling, against hand-computed values.
import assert from 'node:assert/strict';
import * as cascade from '../../../services/guardian/cascade';
import * as latency from '../../../services/guardian/latency';
import * as modes from '../../../services/guardian/modes';
import * as partition from '../../../services/guardian/partition';
import * as patterns from '../../../services/guardian/patterns';

const P = cascade.SEED_CASCADE_POLICY;

function reflex(failures: Array<[number, string]>): cascade.ReflexFact[][] {
  let r = cascade.CALM;
  return failures.map(([at, componentId], k) => {
    const input: cascade.ReflexInput = { kind: 'failure', failure: { at, componentId, eventId: `e${k}`, what: 'REQUEST_END' } };
    const facts = cascade.decide(r, input, P);
    r = [input, ...facts].reduce((s, f) => cascade.evolve(s, f, P), r);
    return facts;
  });
}

describe('cascade reflex (seed 004; 3 components within 1 s)', () => {
  it('given two components failing, nothing; a third within 1 s is a cascade of the three', () => {
    const facts = reflex([[0, 'a'], [500_000, 'b'], [1_000_000, 'c']]);
    assert.deepEqual(facts.slice(0, 2), [[], []]);
    assert.equal(facts[2]!.length, 1);
    const f = facts[2]![0]!;
    assert.ok(f.kind === 'cascade');
    assert.deepEqual(f.components, ['a', 'b', 'c']);
    assert.deepEqual(f.chain.map((x) => x.componentId), ['a', 'b', 'c']);
  });

  it('given the first failure older than 1 s when the third comes, no cascade', () => {
    assert.deepEqual(reflex([[0, 'a'], [500_000, 'b'], [1_000_001, 'c']]).flat(), []);
  });

  it('fires once per episode: a fourth component joins it, repeated failures add nothing', () => {
    const facts = reflex([[0, 'a'], [1, 'b'], [2, 'c'], [3, 'a'], [4, 'd'], [5, 'b']]);
    assert.deepEqual(facts.map((fs) => fs.map((f) => f.kind)), [[], [], ['cascade'], [], ['joined'], []]);
  });

  it('given the window emptied, a new burst is a new episode', () => {
    const facts = reflex([[0, 'a'], [1, 'b'], [2, 'c'], [5_000_000, 'x'], [5_000_001, 'y'], [5_000_002, 'z']]);
    assert.deepEqual(facts.map((fs) => fs.map((f) => f.kind)), [[], [], ['cascade'], [], [], ['cascade']]);
  });
});

describe('latency regression (last 10 of 100 samples > 2x the first 10)', () => {
  const fold = (xs: number[]) => {
    let t = latency.NO_SAMPLES;
    return xs.map((x, k) => { const f = latency.decide(t, 'api', x, k); t = latency.evolve(t, x); return f; });
  };

  it('given the newest 10 averaging exactly 2x the oldest 10, no witness; above 2x, one', () => {
    // 10 x 100, then 9 x 200: the newest 10 are 100 + 9 x 200 -> mean 190; at 200 x 10 the mean is 200 = 2 x 100.
    const same = fold([...Array(10).fill(100), ...Array(10).fill(200)]);
    assert.deepEqual(same.flat(), []);
    const over = fold([...Array(10).fill(100), ...Array(9).fill(200), 211]);
    // mean of the newest 10: (9 x 200 + 211) / 10 = 201.1 -> 201 > 200
    assert.deepEqual(over.flat(), [{ kind: 'regressed', at: 19, componentId: 'api', baselineUs: 100, recentUs: 201 }]);
  });

  it('keeps 100 samples: the oldest 10 slide, and a regression is reported once until it ends', () => {
    const xs = [...Array(100).fill(100), ...Array(10).fill(1000), ...Array(5).fill(1000)];
    const facts = fold(xs).map((f) => f.length);
    assert.equal(facts.reduce((a, b) => a + b, 0), 1);
    // After 110 samples, the window is samples 10..109: the oldest 10 are still 100.
    let t = latency.NO_SAMPLES;
    for (const x of xs.slice(0, 110)) t = latency.evolve(t, x);
    assert.equal(t.samples.length, 100);
    assert.deepEqual(latency.edges(t.samples), { baselineUs: 100, recentUs: 1000 });
  });
});

describe('pattern learner (EWMA 0.1, tolerance 0.5, learned at 10)', () => {
  const P2 = patterns.SEED_PATTERN_POLICY;
  function trace(l: patterns.Learner, req: number, latencyUs: number): { l: patterns.Learner; facts: patterns.LearnerFact[] } {
    const inputs: patterns.LearnerInput[] = [
      { kind: 'call', requestId: req, call: { at: 0, from: 'api', to: 'auth' } },
      { kind: 'call', requestId: req, call: { at: latencyUs, from: 'auth', to: 'db' } },
      { kind: 'completed', requestId: req, at: latencyUs },
    ];
    const facts: patterns.LearnerFact[] = [];
    for (const i of inputs) {
      const f = patterns.decide(l, i, P2);
      l = patterns.evolve(f.reduce((s, x) => patterns.evolve(s, x, P2), l), i, P2);
      facts.push(...f);
    }
    return { l, facts };
  }

  it('moves the expectation by 0.1 of the difference: 400 then 1400 -> 500, then 400 -> 490', () => {
    let { l } = trace(patterns.NO_PATTERNS, 1, 400);
    const sig = '[["api","auth"],["auth","db"]]';
    assert.equal(l.patterns.get(sig)!.expectedLatencyUs, 400);
    ({ l } = trace(l, 2, 1400));
    assert.equal(l.patterns.get(sig)!.expectedLatencyUs, 500); // 0.9 x 400 + 0.1 x 1400
    ({ l } = trace(l, 3, 400));
    assert.equal(l.patterns.get(sig)!.expectedLatencyUs, 490); // 0.9 x 500 + 0.1 x 400
  });

  it('learns at the 10th occurrence and only then reports deviations beyond 50%', () => {
    let l = patterns.NO_PATTERNS;
    const kinds: string[][] = [];
    // 9 traces of 400 us, a 10th far off: not learned yet when it came, so no deviation.
    for (let r = 0; r < 9; r++) ({ l } = trace(l, r, 400));
    let out = trace(l, 9, 400);
    l = out.l;
    kinds.push(out.facts.map((f) => f.kind));
    assert.deepEqual(kinds[0], ['reinforced', 'learned']);
    // Learned at 400: 600 is exactly 50% off (not beyond), 601 is beyond.
    out = trace(l, 10, 600);
    assert.deepEqual(out.facts.map((f) => f.kind), ['reinforced']);
    l = out.l; // expectation now floor(0.9 x 400 + 0.1 x 600) = 420
    out = trace(l, 11, 631); // |631 - 420| / 420 = 0.5024
    assert.deepEqual(out.facts.map((f) => f.kind), ['deviated', 'reinforced']);
    const d = out.facts[0]!;
    assert.ok(d.kind === 'deviated');
    assert.deepEqual([d.name, d.expectedUs, d.observedUs], ['Pattern_0', 420, 631]);
  });

  it('ignores a trace of one call and bounds the open traces', () => {
    const small = { ...P2, maxOpenTraces: 2 };
    let l = patterns.NO_PATTERNS;
    for (const r of [1, 2, 3]) l = patterns.evolve(l, { kind: 'call', requestId: r, call: { at: 0, from: 'a', to: 'b' } }, small);
    assert.deepEqual([...l.traces.keys()], [2, 3]);
    assert.deepEqual(patterns.decide(l, { kind: 'completed', requestId: 2, at: 1 }, small), []);
  });
});

describe('degradation modes (seed 002 §6.3)', () => {
  it('maps the active rate at each boundary', () => {
    const cases: Array<[number, number, string]> = [
      [95, 100, 'FULL'], [9499, 10000, 'DEGRADED_LIGHT'], [80, 100, 'DEGRADED_LIGHT'], [7999, 10000, 'DEGRADED_MODERATE'],
      [60, 100, 'DEGRADED_MODERATE'], [5999, 10000, 'DEGRADED_SEVERE'], [30, 100, 'DEGRADED_SEVERE'], [2999, 10000, 'EMERGENCY'], [0, 100, 'EMERGENCY'],
    ];
    for (const [active, total, mode] of cases) assert.equal(modes.modeFor(active / total).mode, mode, `${active}/${total}`);
  });

  it('reports each transition once, with the seed description and restrictions; an empty mesh keeps its mode', () => {
    let s = modes.INITIAL_MODE;
    const seen: string[] = [];
    for (const [active, total] of [[100, 100], [0, 0], [70, 100], [65, 100], [20, 100], [96, 100]] as const) {
      for (const f of modes.decide(s, { at: 0, active, total })) { s = modes.evolve(s, f); seen.push(`${f.from}->${f.to.mode}@${f.activeRate}`); }
    }
    assert.deepEqual(seen, ['FULL->DEGRADED_MODERATE@0.7', 'DEGRADED_MODERATE->EMERGENCY@0.2', 'EMERGENCY->FULL@0.96']);
    assert.deepEqual(modes.modeSpec('DEGRADED_MODERATE').restrictions, ['Route to healthy sectors only', 'Disable scatter operations over 1000 agents', 'Queue non-urgent operations']);
  });
});

describe('partition handling (seed 003: < half reachable is the minority)', () => {
  it('freezes at 4 of 10 reachable, not at 5 of 10; thaws at 5 of 10 naming the freeze', () => {
    assert.deepEqual(partition.decide(partition.WHOLE, { at: 1, reachable: 5, total: 10 }), []);
    const [frozen] = partition.decide(partition.WHOLE, { at: 1, reachable: 4, total: 10 });
    assert.deepEqual(frozen, { kind: 'frozen', at: 1, reachable: 4, total: 10 });
    const s = partition.evolve(partition.WHOLE, frozen!, 'freeze-id');
    assert.deepEqual(partition.decide(s, { at: 2, reachable: 4, total: 10 }), []);
    assert.deepEqual(partition.decide(s, { at: 3, reachable: 5, total: 10 }), [{ kind: 'thawed', at: 3, frozenAt: 1, frozenEventId: 'freeze-id', reachable: 5, total: 10 }]);
  });
});
