// A cascade stage's deadline follows the stage's shift, against the real broker and registry
// (issue 18): given a one-stage wave whose coordinator is killed -9 once the stage is requested,
// and the stage's schedule written while it is down, when the coordinator comes back only after the
// stage's deadline (its cascade's deadline tick and the dispatch's shifting first tick are then
// written together, in either order, onto the stage's partition of mesh.schedules), then the stage
// is sent at its shifted times, decided, and the cascade ends SUCCESS instead of TIMED_OUT; its
// deadline reaches mesh.cascades only at deadline + shift. The spec answers as the agents.
import assert from 'node:assert/strict';
import type { CascadeCompleted, CascadeRequested, CascadeStageTimedOut, CoordinationRequested, DispatchDue, MessageDispatched, ScheduleComputed, ScheduleEntry } from '../../../schemas/generated/events';
import { stageCorrelationId } from '../../../services/coordinator/cascade';
import { TestKafka, waitFor } from '../../support/kafka';
import { runCli } from '../../support/process';
import { ackOf } from '../../unit/impedance/helpers';
import { readMesh, until, waitGroupStable } from '../../support/coordination';
import { childrenOfEachTest, startRun } from '../solver/support';

const MS = 1000;
const AGENTS = 6;
const LEAD_MS = 1000;
const WINDOW_MS = 400;
const TIMEOUT_MS = 2000;
const ENV = { MESH_SIGNING: 'off', COORDINATOR_GATHER_GRACE_MS: '1000' };
const agent = (i: number) => `D${String(i).padStart(2, '0')}`;

describe('cascades: a stage\'s deadline moved by its shift when the coordinator comes back after it', function () {
  this.timeout(180_000);
  let k: TestKafka;
  const children = childrenOfEachTest();
  before(async () => { k = await TestKafka.create('stage-deadline'); });
  after(async () => { await k?.close(); });

  it('given a coordinator killed -9 once the stage is requested and back only after the stage\'s deadline, then the stage is sent shifted and decided, the cascade ends SUCCESS, and the deadline reaches the cascade only at deadline + shift', async () => {
    let svc = startRun(k, ['coordinator'], ENV);
    children.push(svc);
    await waitGroupStable(k, 'coordinator');
    const id = `casc-late-${Date.now()}`;
    const stageId = stageCorrelationId(id, 0);
    const nowUs = Date.now() * MS;
    const request: CascadeRequested = {
      type: 'CascadeRequested', meta: { event_id: `${id}-req`, correlation_id: id, causation_id: null, occurred_at: nowUs, producer: 'spec', sequence: null },
      strategy: 'WAVE', payload_weight: 0, priority: 2, source_agent_id: 'spec-orchestrator',
      stages: [{ label: 'leads', targets: Array.from({ length: AGENTS }, (_, i) => agent(i)), priority: 0, lead_ms: LEAD_MS, arrival_window_ms: WINDOW_MS, minimum_response_rate: 0.9, timeout_ms: TIMEOUT_MS }],
    };
    await k.sendEvents('mesh.cascades', [{ key: id, event: request }]);
    const [req] = await until(k, 'mesh.coordination', 'CoordinationRequested', stageId, (rs) => rs.length > 0, 30_000);
    const stageReq = req!.event as CoordinationRequested;
    const T = stageReq.target_arrival_time;
    const deadline = stageReq.meta.occurred_at + (LEAD_MS + WINDOW_MS + TIMEOUT_MS) * MS;

    // when the coordinator dies, the stage's schedule is written (the spec as the impedance service), and it comes back past the deadline
    svc.proc.kill('SIGKILL');
    await svc.exited;
    const entries: ScheduleEntry[] = Array.from({ length: AGENTS }, (_, i) => {
      const lead = 150 + 40 * i;
      const sendAt = T - lead * MS;
      return { agent_id: agent(i), status: 'SCHEDULED', lead_time_ms: lead, send_at: sendAt, expected_processing_ms: 20, confidence: 0.8, skip_reason: null, available_ms: null, send_bucket_at: Math.floor(sendAt / 10_000) * 10_000, registry_position: null };
    });
    const schedule: ScheduleComputed = {
      type: 'ScheduleComputed', meta: { event_id: `${id}-sched`, correlation_id: stageId, causation_id: stageReq.meta.event_id, occurred_at: stageReq.meta.occurred_at + 5 * MS, producer: 'impedance', sequence: null },
      message_id: stageReq.message_id, target_arrival_time: T, chunk_index: 0, chunk_count: 1, entries, refused_reason: null, restrictions_through: null,
      terms: { created_at: stageReq.meta.occurred_at, ttl_ms: stageReq.ttl_ms, arrival_window_ms: WINDOW_MS, minimum_response_rate: 0.9, priority: 2, payload_hash: stageReq.payload_hash, trinary_expectation: 'READY' },
    };
    await k.sendEvents('mesh.schedules', [{ key: stageId, event: schedule }]);
    await waitFor(() => Date.now() * MS > deadline + 1000 * MS, 30_000, 'past the stage\'s deadline');
    const restartedUs = Date.now() * MS;
    svc = startRun(k, ['coordinator'], ENV);
    children.push(svc);

    // the spec answers every message at its T, READY
    const answered = new Set<string>();
    let completed: CascadeCompleted | undefined;
    await waitFor(async () => {
      const sent = (await readMesh(k, 'mesh.dispatch')).flatMap((r) => (r.event.type === 'MessageDispatched' && r.event.meta.correlation_id === stageId && !answered.has(r.event.agent_id) ? [r.event as MessageDispatched] : []));
      if (sent.length > 0) {
        for (const m of sent) answered.add(m.agent_id);
        await k.sendEvents('mesh.acks', sent.map((m) => {
          const a = ackOf({ agent: m.agent_id, at: m.target_arrival_time - 5 * MS, message: m.message_id, state: 'READY' });
          return { key: stageId, event: { ...a, payload_hash: m.payload_hash || null, meta: { ...a.meta, correlation_id: stageId } } };
        }), { unsigned: true });
      }
      completed = (await readMesh(k, 'mesh.cascades')).map((r) => r.event).find((e): e is CascadeCompleted => e.type === 'CascadeCompleted' && e.meta.correlation_id === id);
      return completed !== undefined;
    }, 90_000, 'the cascade completed');

    const schedules = (await readMesh(k, 'mesh.schedules')).filter((r) => r.event.meta.correlation_id === stageId);
    const shift = schedules.map((r) => r.event).find((e): e is DispatchDue => e.type === 'DispatchDue' && (e.shift_us ?? 0) > 0)?.shift_us ?? 0;
    const order = schedules.map((r) => (r.event.type === 'DispatchDue' ? ((r.event.shift_us ?? 0) > 0 ? 'shift' : 'tick') : r.event.type === 'CascadeStageTimedOut' ? 'deadline' : 'schedule'));
    const passedOn = (await readMesh(k, 'mesh.cascades')).map((r) => r.event).filter((e): e is CascadeStageTimedOut => e.type === 'CascadeStageTimedOut' && e.meta.correlation_id === id);
    const c = completed!;
    process.stdout.write(`      restarted at deadline + ${((restartedUs - deadline) / MS).toFixed(0)} ms; shift ${shift / MS} ms; stage partition: ${order.join(' ')}; `
      + `stage ${c.stages[0]!.outcome} ended at deadline + ${((c.stages[0]!.ended_at! - deadline) / MS).toFixed(0)} ms; deadline passed on at ${passedOn.map((x) => `deadline + ${((x.meta.occurred_at - deadline) / MS).toFixed(0)} ms`).join(', ') || 'never'}\n`);

    // then the stage was shifted by at least how late the coordinator came after T, and every agent sent the message at T + shift
    assert.ok(shift >= restartedUs - T, `shift ${shift / MS} ms`);
    const dispatched = (await readMesh(k, 'mesh.dispatch')).map((r) => r.event).filter((e): e is MessageDispatched => e.type === 'MessageDispatched' && e.meta.correlation_id === stageId);
    assert.deepEqual(dispatched.map((m) => m.target_arrival_time), dispatched.map(() => T + shift));
    assert.equal(dispatched.length, AGENTS);
    // and the cascade ends SUCCESS by the stage's decision, after the unshifted deadline, before the moved one
    assert.deepEqual([c.status, c.stages[0]!.outcome, c.stages[0]!.decision], ['SUCCESS', 'SUCCESS', 'PROCEED']);
    assert.ok(c.stages[0]!.ended_at! > deadline && c.stages[0]!.ended_at! < deadline + shift, `ended at deadline + ${(c.stages[0]!.ended_at! - deadline) / MS} ms`);
    assert.ok(order.indexOf('deadline') > 0, `the deadline tick on the stage's partition: ${order.join(' ')}`);
    // and the deadline reached the cascade's partition, if at all, only at deadline + shift
    for (const x of passedOn) assert.ok(x.meta.occurred_at >= deadline + shift, `passed on at deadline + ${(x.meta.occurred_at - deadline) / MS} ms`);
    // and the dispatch's replay, the deadline ticks among its inputs, gives the same outputs
    const cli = await runCli(['mesh', 'replay-coordination'], { ...process.env, TOPIC_PREFIX: k.prefix });
    assert.equal(cli.code, 0, `${cli.stdout}\n${cli.stderr}`);
  });
});
