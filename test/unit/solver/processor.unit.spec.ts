// The solver processor without a broker: slices it grants itself carry the partition's event
// time, so a long solve never makes the partition's other sessions look idle.
import assert from 'node:assert/strict';
import pino from 'pino';
import type { RecordContext } from '../../../services/runtime/processor';
import { DEFAULT_SOLVER_LIMITS, PartitionCore, type SolverEvent } from '../../../services/solver/domain';
import { openSession } from '../../../services/solver/events';
import { solverProcessor } from '../../../services/solver/processor';
import { wasmKernel } from '../../../wasm';
import { poisson2d, smoothRhs } from '../../../wasm/src/problems';
import { active } from './harness';

describe('solver processor: self-granted slices', () => {
  it('given two sessions with event times long past, when one solves in slices, then the slices keep event time and the other is not evicted', async () => {
    // Producers' clock: 2026-01-01. The service's wall clock: months later.
    const eventTime = 1_767_225_600_000_000;
    const limits = { ...DEFAULT_SOLVER_LIMITS, recordWork: 1 };
    const processor = solverProcessor({
      restore: async (p) => new PartitionCore(p, limits, wasmKernel()), logger: pino({ level: 'silent' }),
      sliceWork: 1, snapshotEvery: 1e9, snapshotMicros: 1e18, now: () => Date.parse('2026-11-23T06:00:00Z'),
    });
    const offsets: Record<string, number> = {};
    const handle = async (topic: string, event: SolverEvent) => {
      const ctx: RecordContext = { topic, partition: 0, offset: String((offsets[topic] = (offsets[topic] ?? -1) + 1)), timestampMs: 0, key: null };
      return processor.handle(event, ctx);
    };
    const a = poisson2d(10);
    for (const id of ['idle', 'busy']) {
      for (const e of openSession(id, a, smoothRhs(a.n), { occurredAt: eventTime })) await handle('solver.sessions', e);
    }

    const outputs = [];
    for (let round = 0; round < 500; round++) {
      const slices = (await processor.flush!()).map((x) => x.event).filter((e) => e.type === 'IterationSliceGranted');
      if (slices.length === 0) break;
      for (const s of slices) {
        assert.equal(s.meta.occurred_at, eventTime, 'a slice carries the event time');
        outputs.push(...(await handle('solver.commands', s)));
      }
    }

    const core = processor.held().get(0)!;
    assert.ok(active(core, 'busy').iteration > 0, 'the sliced session iterated');
    assert.equal(core.sessions.get('idle')!.status, 'active');
    assert.deepEqual(outputs.filter((x) => x.event.type === 'SessionClosed'), []);
  });
});
