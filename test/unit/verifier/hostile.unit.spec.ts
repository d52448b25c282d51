// The verifier's copy of a session under values that overflow through valid steps (issue 15):
// the copy ends like the solver's session does, and nothing is checked against a non-finite b.
import assert from 'node:assert/strict';
import type { SolutionPublished } from '../../../schemas/generated/events';
import { packFloat64 } from '../../../schemas/packed';
import { DEFAULT_SOLVER_LIMITS } from '../../../services/solver/domain';
import { costUpdated, openSession } from '../../../services/solver/events';
import { VerifierCore } from '../../../services/verifier/core';
import { wasmKernel } from '../../../wasm';
import { poisson2d, smoothRhs } from '../../../wasm/src/problems';

const SID = '6f1c1d1e-0000-4000-8000-0000000ef001';

describe('verifier under hostile input', () => {
  it('given cost deltas that overflow b and a solution naming their position, then the copy of the session ends and no check or correction comes of it', () => {
    const a = poisson2d(4);
    const core = new VerifierCore(0, DEFAULT_SOLVER_LIMITS, wasmKernel(), { group: 'g1', groups: 1, probeCount: 2, probeSize: 4, fault: 'none' });
    openSession(SID, a, smoothRhs(a.n)).forEach((e, i) => core.fold(e, { topic: 'solver.sessions', offset: i }));
    core.fold(costUpdated(SID, 1, { indices: [2], values: [1e308], flush: false }), { topic: 'solver.costs', offset: 0 });
    core.fold(costUpdated(SID, 2, { indices: [2], values: [1e308], flush: true }), { topic: 'solver.costs', offset: 1 });
    const solution: SolutionPublished = {
      type: 'SolutionPublished', meta: { event_id: 'sol', correlation_id: SID, causation_id: null, occurred_at: 0, producer: 'solver', sequence: 5 },
      session_id: SID, iteration: 5, n: a.n, chunk_index: 0, chunk_count: 1, offset: 0, values: packFloat64(new Float64Array(a.n).fill(1)),
      applied_through: [{ topic: 'solver.costs', partition: 0, offset: 1 }],
    };
    const out = core.fold(solution, { topic: 'solver.solutions', offset: 0 });
    assert.deepEqual(out, []);
    assert.equal(core.replica.sessions.get(SID)?.status, 'closed');
  });
});
