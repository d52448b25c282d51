// Seed 004's three tests (test_circuit_breaker, test_pattern_learning, test_cascade_detection),
// as specs of the guardian's deciders.
import assert from 'node:assert/strict';
import { check, componentBreaker, recordFailure, type ComponentBreaker } from '../../../services/guardian/component-breaker';
import { GuardianCore } from '../../../services/guardian/core';
import { NO_PATTERNS, SEED_PATTERN_POLICY as P, decide, evolve, type Learner, type LearnerInput } from '../../../services/guardian/patterns';
import { SEED_POLICY } from '../../../services/guardian/policy';
import { toEmits } from '../../../services/guardian/outputs';
import { structural } from './events';

describe('seed 004 tests', () => {
  it('test_circuit_breaker: 3 failures open a (3, 1000 us) breaker; after the timeout it lets a call through half-open', () => {
    let cb: ComponentBreaker = componentBreaker(3, 1000);
    const ask = (at: number) => { const r = check(cb, at); cb = r.breaker; return r.allowed; };
    assert.equal(ask(0), true);
    cb = recordFailure(cb, 0);
    cb = recordFailure(cb, 1);
    assert.equal(ask(2), true);
    cb = recordFailure(cb, 2);
    assert.equal(ask(3), false, 'now open');
    assert.equal(ask(1004), true, 'after timeout, half-open');
    assert.equal(cb.state, 'HALF_OPEN');
  });

  it('test_pattern_learning: a trace of two calls completes into a pattern', () => {
    let l: Learner = NO_PATTERNS;
    const step = (i: LearnerInput) => { const f = decide(l, i, P); l = f.reduce((s, x) => evolve(s, x, P), l); l = evolve(l, i, P); return f; };
    step({ kind: 'call', requestId: 1, call: { at: 0, from: 'a', to: 'b' } });
    step({ kind: 'call', requestId: 1, call: { at: 100, from: 'b', to: 'c' } });
    const facts = step({ kind: 'completed', requestId: 1, at: 200 });
    assert.deepEqual(facts, [{ kind: 'reinforced', signature: '[["a","b"],["b","c"]]', name: 'Pattern_0', latencyUs: 100, created: true }]);
    assert.equal(l.patterns.get('[["a","b"],["b","c"]]')!.occurrences, 1);
  });

  it('test_cascade_detection: failures of 4 components, 5 rounds 100 us apart, give a cascade witness that opens their breakers', () => {
    const core = new GuardianCore(SEED_POLICY);
    const emitted = [];
    for (let i = 0; i < 5; i++) {
      for (const comp of ['a', 'b', 'c', 'd']) {
        const e = structural(comp, 'REQUEST_END', i * 100, { request_id: i, success: false });
        emitted.push(...toEmits(e.meta.event_id, core.fold(e)));
      }
    }
    const witnesses = emitted.filter((x) => x.event.type === 'StructuralWitnessRecorded');
    assert.ok(witnesses.length > 0, 'witnesses is not empty');
    const first = witnesses[0]!.event;
    assert.ok(first.type === 'StructuralWitnessRecorded');
    assert.equal(first.trigger, 'CASCADE');
    assert.deepEqual(first.component_states.map((s) => s.component_id), ['a', 'b', 'c']);
    assert.equal(first.decision, 'Open circuit breakers for 3 components');
    assert.equal(first.action_taken, 'SHED_LOAD');
    assert.deepEqual(['a', 'b', 'c', 'd'].map((c) => core.components.get(c)!.state), ['OPEN', 'OPEN', 'OPEN', 'OPEN']);
  });
});
