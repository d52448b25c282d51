import assert from 'node:assert/strict';
import type { CircuitStateChanged, CoordinationRequested, OperationalModeChanged, ScheduleComputed } from '../../../schemas/generated/events';
import { loadEventSchemas } from '../../../schemas/catalog';
import { coordinationRequested } from '../../../services/impedance/coordination';
import { PartitionFold } from '../../../services/impedance/partition-fold';
import { scheduleAgentOf } from '../../../services/impedance/registry-store';
import { circuitOpen, foldDecision, restrictionsOf } from '../../../services/impedance/restrictions';
import { computeSchedule, SCHEDULE_CHUNK } from '../../../services/impedance/schedule';
import { refolder, type HeartbeatInput } from '../../../services/impedance/schedule-refold';
import { compareSchedules, matchesSelector, requestsOf, restrictionsAt, type ScheduleLog } from '../../../services/impedance/schedule-replay';
import { derivedEventId } from '../../../services/runtime/ids';
import { hb, S, T0 } from './helpers';

const scheduleType = loadEventSchemas().get('ScheduleComputed')!.type;
const encode = async (e: ScheduleComputed) => scheduleType.toBuffer(e);

const breaker = (scopeId: string, state: 'OPEN' | 'CLOSED', at: number): CircuitStateChanged => ({
  type: 'CircuitStateChanged',
  meta: { event_id: derivedEventId('b', `${scopeId}:${at}`), correlation_id: scopeId, causation_id: null, occurred_at: at, producer: 'guardian', sequence: null },
  scope: 'CLUSTER', scope_id: scopeId, previous_state: state === 'OPEN' ? 'CLOSED' : 'OPEN', new_state: state, failure_count: 0, failure_threshold: 5, reason: 't',
  next_probe_at: null, incident_detected_at: null, recovery_time_us: null,
});
const mode = (m: OperationalModeChanged['new_mode'], at: number): OperationalModeChanged => ({
  type: 'OperationalModeChanged',
  meta: { event_id: derivedEventId('m', String(at)), correlation_id: 'mode', causation_id: null, occurred_at: at, producer: 'guardian', sequence: null },
  previous_mode: 'FULL', new_mode: m, active_rate: 0.5, active_agents: 1, total_agents: 2, description: 't', restrictions: [],
});

/** Heartbeats of agents a0..a3 (partition 0), `rounds` of them, with their offsets. */
function beats(rounds: number): HeartbeatInput[] {
  const out: HeartbeatInput[] = [];
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < 4; i++) out.push({ offset: out.length, event: hb({ agent: `a${i}`, at: T0 + r * S + i, latency: 10 + 3 * i + r, processing: 5 + r, cluster: `c${i % 2}`, caps: ['x'] }) });
  }
  return out;
}

const req = (n: number, targets: string[]): CoordinationRequested => coordinationRequested({ targets, arrivalAtUs: T0 + 10 * S, nowUs: T0 + 3 * S, correlationId: `corr-${n}`, eventId: `req-${n}` });

describe('impedance: schedule replay (pure parts)', () => {
  it('a fold keeps how far each input was folded, and a rolled-back batch takes its heartbeat offset back', () => {
    const f = new PartitionFold();
    f.apply(hb({ agent: 'a' }), 4);
    f.commit();
    f.apply(hb({ agent: 'a', at: T0 + S }), 9);
    assert.deepEqual(f.position, { heartbeatsThrough: 9, acksThrough: -1 });
    f.rollback();
    assert.deepEqual(f.position, { heartbeatsThrough: 4, acksThrough: -1 });
    f.heartbeatsFolded(12);
    assert.equal(f.position.heartbeatsThrough, 12);
  });

  it('foldDecision does what the Redis script does: an older decision loses, the position only grows; restrictionsAt folds up to the offsets named', () => {
    const h: Record<string, string> = {};
    foldDecision(h, breaker('c1', 'OPEN', 200), { partition: 1, offset: 5 });
    foldDecision(h, breaker('c1', 'CLOSED', 100), { partition: 1, offset: 6 });
    assert.deepEqual(h, { 'CLUSTER:c1': 'OPEN|200', '@1': '6' });
    const r = restrictionsOf(h);
    assert.deepEqual([...r.open], ['CLUSTER:c1']);
    assert.deepEqual(r.through, [{ topic: 'mesh.circuits', partition: 1, offset: 6 }]);

    const decisions = new Map([[0, [{ offset: 0, event: breaker('c1', 'OPEN', 100) }, { offset: 1, event: mode('DEGRADED_MODERATE', 110) }, { offset: 2, event: breaker('c1', 'CLOSED', 120) }]]]);
    const at1 = restrictionsAt(decisions, [{ topic: 'mesh.circuits', partition: 0, offset: 1 }]);
    assert.deepEqual([[...at1.open], at1.mode], [['CLUSTER:c1'], 'DEGRADED_MODERATE']);
    assert.deepEqual([...restrictionsAt(decisions, [{ topic: 'mesh.circuits', partition: 0, offset: 2 }]).open], []);
    assert.deepEqual(restrictionsAt(decisions, []).mode, 'FULL');
  });

  it('the refolder gives each position the agents a fold stopped there has, read as the registry gives them back; going back starts afresh', () => {
    const hbs = beats(3);
    const want = (h: number, ids: string[]) => ({ position: { partition: 0, heartbeats_through: h, acks_through: -1 }, ids: new Set(ids) });
    const got = refolder(new Map([[0, hbs]]), new Map()).agentsAt([want(11, ['a1']), want(3, ['a1', 'a3', 'zz'])]);
    const at = (h: number) => { const f = new PartitionFold(); for (const x of hbs.filter((y) => y.offset <= h)) f.apply(x.event, x.offset); return f; };
    assert.deepEqual(got.get('0|3|-1')!.get('a1'), scheduleAgentOf(at(3).agents.get('a1')!, want(3, []).position));
    assert.deepEqual(got.get('0|11|-1')!.get('a1'), scheduleAgentOf(at(11).agents.get('a1')!, want(11, []).position));
    assert.notDeepEqual(got.get('0|3|-1')!.get('a1')!.latencyMs, got.get('0|11|-1')!.get('a1')!.latencyMs);
    assert.equal(got.get('0|3|-1')!.has('zz'), false);
  });

  it('selectors match an agent by class letter, cluster, sector and capability', () => {
    const f = new PartitionFold();
    f.apply(hb({ agent: 'x', cls: 'CLASS_D_GPU', cluster: 'c9', sector: 's9', caps: ['gpu', 'x'] }));
    const a = scheduleAgentOf(f.agents.get('x')!, null);
    assert.ok(matchesSelector(a, { kind: 'class', value: 'D' }) && matchesSelector(a, { kind: 'class', value: 'CLASS_D_GPU' }));
    assert.ok(matchesSelector(a, { kind: 'cluster', value: 'c9' }) && matchesSelector(a, { kind: 'sector', value: 's9' }) && matchesSelector(a, { kind: 'capability', value: 'gpu' }));
    assert.ok(!matchesSelector(a, { kind: 'cluster', value: 'c1' }) && !matchesSelector(a, { kind: 'class', value: 'A' }));
  });

  describe('compareSchedules', () => {
    // Two requests, each scheduled from agents as of a different position, one obeying an OPEN breaker.
    const hbs = beats(3);
    const decisions = new Map([[0, [{ offset: 0, event: breaker('c1', 'OPEN', T0) }]]]);
    const requests = requestsOf([{ partition: 0, offset: 0, event: req(0, ['a0', 'a1', 'a2']) }, { partition: 0, offset: 1, event: req(1, ['cluster:c0', 'ghost']) }]);
    const through = [{ topic: 'mesh.circuits', partition: 0, offset: 0 }];
    const restrictions = restrictionsAt(decisions, through);
    const recordedAt = (h: number, targets: string[], q: CoordinationRequested): ScheduleComputed[] => {
      const f = new PartitionFold();
      for (const x of hbs.filter((y) => y.offset <= h)) f.apply(x.event, x.offset);
      const position = { partition: 0, heartbeats_through: h, acks_through: -1 };
      return computeSchedule(q, targets, (id) => { const s = f.agents.get(id); return s && scheduleAgentOf(s, position); }, SCHEDULE_CHUNK, (a) => circuitOpen(restrictions, a), through);
    };
    const logOf = async (heartbeats: HeartbeatInput[]): Promise<ScheduleLog> => {
      const chunks = new Map();
      const all = [...recordedAt(5, ['a0', 'a1', 'a2'], requests[0]!.req), ...recordedAt(11, ['a0', 'a2', 'ghost'], requests[1]!.req)];
      for (const [i, c] of all.entries()) chunks.set(c.meta.event_id, { event: c, value: await encode(c), partition: 0, offset: i });
      return { requests, chunks, heartbeats: new Map([[0, heartbeats]]), acks: new Map(), decisions };
    };

    it('given the log the schedules were made from, then every chunk is recomputed identical', async () => {
      const log = await logOf(hbs);
      const r = await compareSchedules(log, refolder(log.heartbeats, log.acks), encode);
      assert.deepEqual({ ok: r.ok, requests: r.requests, identical: r.identical, recorded: r.recorded, positioned: r.positioned }, { ok: true, requests: 2, identical: 2, recorded: 2, positioned: 5 });
      // and the breaker was obeyed: a1 (cluster c1) skipped
      assert.equal(log.chunks.get(derivedEventId('req-0', 'schedule:0'))!.event.entries.find((e) => e.agent_id === 'a1')!.skip_reason, 'CIRCUIT_OPEN');
    });

    it('given a heartbeat changed below the second schedule\'s position only, then the first divergence is that schedule, at an entry\'s field', async () => {
      const log = await logOf(hbs);
      const changed = hbs.map((x) => (x.offset === 8 ? { offset: 8, event: { ...x.event, latency_ms: 400 } } : x));
      const r = await compareSchedules({ ...log, heartbeats: new Map([[0, changed]]) }, refolder(new Map([[0, changed]]), log.acks), encode);
      assert.equal(r.ok, false);
      assert.equal(r.identical, 1);
      assert.deepEqual({ kind: r.divergence!.kind, requestId: r.divergence!.requestId, at: r.divergence!.at }, { kind: 'differs', requestId: 'req-1', at: 'mesh.coordination 0/1' });
      assert.match(r.divergence!.field!, /^entries\[\d+\]\./);
    });

    it('given an agent in a selector schedule that matches no selector at its position, then the replay says so', async () => {
      const log = await logOf(hbs);
      const chunks = new Map(log.chunks);
      const id = derivedEventId('req-1', 'schedule:0');
      const c = chunks.get(id)!;
      const bad = { ...c.event, entries: c.event.entries.map((e) => (e.agent_id === 'a2' ? { ...e, agent_id: 'a3' } : e)) };
      chunks.set(id, { ...c, event: bad, value: await encode(bad) });
      const r = await compareSchedules({ ...log, chunks }, refolder(log.heartbeats, log.acks), encode);
      assert.equal(r.divergence?.kind, 'selector');
      assert.match(r.divergence!.detail!, /agent a3 .* matched none of cluster:c0/);
    });

    it('given a request the service answered nothing to below its committed offset, then it is named not recorded', async () => {
      const log = await logOf(hbs);
      const chunks = new Map([...log.chunks].filter(([, c]) => c.event.meta.causation_id !== 'req-1'));
      const r = await compareSchedules({ ...log, chunks, answeredBelow: new Map([[0, 2]]) }, refolder(log.heartbeats, log.acks), encode);
      assert.deepEqual([r.divergence?.kind, r.divergence?.requestId], ['not recorded', 'req-1']);
      const later = await compareSchedules({ ...log, chunks, answeredBelow: new Map([[0, 1]]) }, refolder(log.heartbeats, log.acks), encode);
      assert.equal(later.ok, true);
    });
  });
});
