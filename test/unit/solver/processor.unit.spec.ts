// The solver processor without a broker: slices it grants itself carry the partition's event
// time, so a long solve never makes the partition's other sessions look idle.
import assert from 'node:assert/strict';
import pino from 'pino';
import type { Emit, RecordContext } from '../../../services/runtime/processor';
import { DEFAULT_SOLVER_LIMITS, PartitionCore, type SolverEvent } from '../../../services/solver/domain';
import { costUpdated, openSession } from '../../../services/solver/events';
import { solverProcessor } from '../../../services/solver/processor';
import type { StructuralEmitter } from '../../../services/runtime/structural';
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

describe('solver processor: ticks written outside the transaction', () => {
  it('given a tick sink, when flushes come sooner than the min interval, then the tick they ask for goes to the sink, not into the batch; when the partition is restored with that tick never written, then the sink gets it again and its landing closes the group', async () => {
    const at = 1_767_225_600_000_000;
    const a = poisson2d(10);
    const written: Emit[] = [];
    // What the log holds, per topic, as the restore reads it back.
    const log: Array<{ topic: string; event: SolverEvent }> = [];
    const offsets: Record<string, number> = {};
    const ctxOf = (topic: string): RecordContext => ({ topic, partition: 0, offset: String((offsets[topic] = (offsets[topic] ?? -1) + 1)), timestampMs: 0, key: null });
    const restore = async (p: number) => {
      const core = new PartitionCore(p, DEFAULT_SOLVER_LIMITS, wasmKernel());
      const seen: Record<string, number> = {};
      for (const l of log) {
        const offset = (seen[l.topic] = (seen[l.topic] ?? -1) + 1);
        core.fold(l.event, { topic: l.topic, partition: p, offset, eventId: l.event.meta.event_id, occurredAt: l.event.meta.occurred_at });
        core.work();
      }
      return core;
    };
    const processor = solverProcessor({
      restore, logger: pino({ level: 'silent' }), sliceWork: 1e9, snapshotEvery: 1e9, snapshotMicros: 1e18,
      ticks: { write: (t) => written.push(t), close: async () => undefined },
    });
    const handle = async (topic: string, event: SolverEvent) => {
      log.push({ topic, event });
      return processor.handle(event, ctxOf(topic));
    };
    for (const e of openSession('s', a, smoothRhs(a.n), { occurredAt: at })) await handle('solver.sessions', e);
    await handle('solver.costs', costUpdated('s', 1, { indices: [0], values: [0.5], occurredAt: at + 10_000 }));

    // 1 ms after the group that update closed: closes too, and asks for a tick ...
    const emitted = await handle('solver.costs', costUpdated('s', 2, { indices: [1], values: [0.5], occurredAt: at + 11_000 }));
    assert.deepEqual(emitted.filter((x) => x.event.type === 'IterationSliceGranted'), [], 'no tick in the batch');
    assert.ok(emitted.some((x) => x.event.type === 'IterationCompleted'), 'the first early flush was solved at once');
    assert.equal(written.length, 1, 'the tick went to the sink');
    assert.equal(written[0]!.topic, 'solver.costs');
    assert.equal(written[0]!.key, 's');
    // ... which the next early flush waits for.
    const waiting = await handle('solver.costs', costUpdated('s', 3, { indices: [2], values: [0.5], occurredAt: at + 11_500 }));
    assert.deepEqual(waiting, []);

    // The process died before the write: the partition is rebuilt from a log without the tick.
    processor.onAbort!();
    await processor.onAssigned!([{ topic: 'solver.costs', partition: 0 }]);
    assert.equal(written.length, 2, 'the restore wrote the pending tick again');
    const before = active(processor.held().get(0)!, 's').updatesApplied;
    const out = await handle('solver.costs', written[1]!.event as SolverEvent);
    assert.equal(active(processor.held().get(0)!, 's').updatesApplied, before + 1, 'the group closed where the tick landed');
    assert.ok(out.some((x) => x.event.type === 'IterationCompleted'), 'and was solved');
  });
});

describe('solver processor: structural observations of slices', () => {
  it('given ticks on solver.costs (1 work unit each), when the groups they close are solved, then no slice is sampled or reported slow; a slice granted on solver.commands is', async () => {
    const at = 1_767_225_600_000_000;
    const a = poisson2d(10);
    const observed: string[] = [];
    const structural = {
      sample: (resource: string) => { observed.push(resource); return false; },
      slow: (resource: string, ms: number, limitMs: number) => { if (ms > limitMs) observed.push(resource); return ms > limitMs; },
      close: async () => undefined,
    } as unknown as StructuralEmitter;
    const written: Emit[] = [];
    const offsets: Record<string, number> = {};
    const processor = solverProcessor({
      restore: async (p) => new PartitionCore(p, DEFAULT_SOLVER_LIMITS, wasmKernel()), logger: pino({ level: 'silent' }),
      sliceWork: 1e9, snapshotEvery: 1e9, snapshotMicros: 1e18, structural, slowSliceMs: 1e9,
      ticks: { write: (t) => written.push(t), close: async () => undefined },
    });
    const handle = async (topic: string, event: SolverEvent) =>
      processor.handle(event, { topic, partition: 0, offset: String((offsets[topic] = (offsets[topic] ?? -1) + 1)), timestampMs: 0, key: null });
    for (const e of openSession('s', a, smoothRhs(a.n), { occurredAt: at })) await handle('solver.sessions', e);
    for (let k = 1; k <= 6; k++) {
      await handle('solver.costs', costUpdated('s', k, { indices: [k], values: [0.5], occurredAt: at + k * 1000 }));
      while (written.length > 0) await handle('solver.costs', written.shift()!.event as SolverEvent);
    }
    assert.deepEqual(observed, [], 'ticks are not slices');
    const slice = { type: 'IterationSliceGranted', session_id: 's', work: 1e6, meta: { event_id: 'slice-1', correlation_id: 's', causation_id: null, occurred_at: at + 7000, producer: 'solver', sequence: null } } as SolverEvent;
    await handle('solver.commands', slice);
    assert.deepEqual(observed, ['solve_slice_ms_per_mwork']);
  });
});
