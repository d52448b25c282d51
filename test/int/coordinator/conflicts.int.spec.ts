import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type {
  AckReceived, ConflictDeadlinePassed, ConflictDetail, ConflictEscalated, ConflictQuarantined, ConflictResolved, SolvermeshEvent,
} from '../../../schemas/generated/events';
import { coordinatorService } from '../../../services/coordinator';
import type { ConflictSummary } from '../../../services/coordinator/conflict-projection';
import { derivedEventId } from '../../../services/runtime/ids';
import { startService, type RunningService } from '../../../services/runtime/service';
import { collectEvents } from '../impedance/support';
import { runCli } from '../../support/process';
import { TestKafka } from '../../support/kafka';

const S = 1_000_000;

describe('conflict lifecycle against the real broker: CONFLICT acks logged, quarantined, escalated when overdue, resolved', function () {
  this.timeout(180_000);
  let k: TestKafka;
  let svc: RunningService | undefined;
  // Set when the spec starts, not when mocha loads the file (a full run loads every file first).
  let nowUs = 0;
  const corr = randomUUID();
  const detail = (t: ConflictDetail['conflict_type'], extra: Partial<ConflictDetail> = {}): ConflictDetail => ({
    conflict_type: t, expected_value: '42', received_value: '43', context_hash: 'ctx-1', divergence_depth: null, affects_agent_count: null, conflicting_data: Buffer.from('q'), ...extra,
  });
  const ack = (agent: string, at: number, conflict: ConflictDetail | null): AckReceived => ({
    type: 'AckReceived',
    meta: { event_id: randomUUID(), correlation_id: corr, causation_id: null, occurred_at: at, producer: 'sim', sequence: null },
    message_id: `msg-${corr}`, agent_id: agent, state: conflict === null ? 'READY' : 'CONFLICT', actual_arrival_at: at, expected_arrival_at: null, processing_ms: 4, conflict, payload_hash: null, sender_seq: null, signature: null,
  });
  // One cluster answers one message: four CONFLICTs and one READY.
  const makeAcks = () => ({
    // p2, due in 4 min: its deadline records, up to 30 s past that, stay inside the 5 min event-time skew bound
    stale: ack('S000-C00-A00', nowUs - 360 * S, detail('DATA_CONTRADICTION', { affects_agent_count: 40 })),
    operator: ack('S000-C00-A01', nowUs, detail('DATA_CONTRADICTION', { affects_agent_count: 12 })), // p2
    reroute: ack('S000-C00-A02', nowUs, detail('CAPABILITY_MISMATCH')), // p1, REROUTE applies by itself
    deep: ack('S000-C00-A03', nowUs - 120 * S, detail('CONTEXT_DIVERGENCE', { divergence_depth: 12 })), // p3, resolve_by 1 min ago
    ready: ack('S000-C00-A04', nowUs, null),
  });
  let acks!: ReturnType<typeof makeAcks>;
  const id = (a: AckReceived) => derivedEventId(a.meta.event_id, 'conflict');
  const env = () => ({ ...process.env, TOPIC_PREFIX: k.prefix, LOG_LEVEL: 'warn' });
  const of = <T extends SolvermeshEvent['type']>(es: SolvermeshEvent[], type: T, conflictId: string) =>
    es.filter((e): e is Extract<SolvermeshEvent, { type: T }> => e.type === type && (e as { conflict_id?: string }).conflict_id === conflictId);

  before(async () => {
    nowUs = Date.now() * 1000;
    acks = makeAcks();
    k = await TestKafka.create('conflicts');
    svc = await startService(coordinatorService, { ...process.env, TOPIC_PREFIX: k.prefix, HTTP_PORT: '0', LOG_LEVEL: 'warn', INSTANCE_ID: 'conflicts-int' });
  });
  after(async () => {
    await svc?.stop();
    await k?.close();
  });

  it('given a cluster answering CONFLICT, then each conflict is logged and quarantined; the capability mismatch is resolved by REROUTE; the overdue priority 3 escalates to the orchestrator by the deadline record the coordinator wrote', async () => {
    await k.sendEvents('mesh.acks', Object.values(acks).map((a) => ({ key: corr, event: a })));
    const es = await collectEvents(k, 'mesh.conflicts', (xs) =>
      xs.filter((e) => e.type === 'ConflictQuarantined').length >= 4 && of(xs, 'ConflictResolved', id(acks.reroute)).length >= 1
      && of(xs, 'ConflictEscalated', id(acks.deep)).length >= 2, 60_000);
    const reported = es.filter((e) => e.type === 'ConflictReported');
    assert.deepEqual(reported.map((e) => e.conflict_id).sort(), [acks.stale, acks.operator, acks.reroute, acks.deep].map(id).sort(), 'one report per CONFLICT ack, none for READY');
    for (const a of [acks.stale, acks.operator, acks.reroute, acks.deep]) {
      const [r] = of(es, 'ConflictReported', id(a));
      assert.deepEqual([r!.agent_id, r!.message_id, r!.meta.occurred_at, r!.detail.conflicting_data?.toString()], [a.agent_id, a.message_id, a.meta.occurred_at, 'q']);
    }
    const q = (a: AckReceived) => of(es, 'ConflictQuarantined', id(a))[0] as ConflictQuarantined;
    assert.deepEqual([q(acks.stale).priority, q(acks.stale).suggested_strategy.method, q(acks.stale).resolve_by], [2, 'PROVENANCE_TRACE', acks.stale.meta.occurred_at + 600 * S]);
    assert.deepEqual([q(acks.reroute).priority, q(acks.reroute).suggested_strategy.method], [1, 'REROUTE']);
    assert.deepEqual([q(acks.deep).priority, q(acks.deep).resolve_by], [3, acks.deep.meta.occurred_at + 60 * S]);
    const [rr] = of(es, 'ConflictResolved', id(acks.reroute)) as ConflictResolved[];
    assert.deepEqual([rr!.method, rr!.outcome, rr!.resolved_by], ['REROUTE', 'DISCARDED', 'coordinator']);
    const deep = of(es, 'ConflictEscalated', id(acks.deep)) as ConflictEscalated[];
    assert.deepEqual(deep.map((e) => e.level), ['SECTOR_COORDINATOR', 'ORCHESTRATOR']);
    assert.match(deep[1]!.reason, /^overdue: priority 3 CONTEXT_DIVERGENCE/);
    const [dl] = of(es, 'ConflictDeadlinePassed', id(acks.deep)) as ConflictDeadlinePassed[];
    assert.equal(deep[1]!.meta.causation_id, dl!.meta.event_id, 'escalated by the deadline record in its partition');
    assert.equal(of(es, 'ConflictEscalated', id(acks.stale)).length, 0, 'the priority 2 conflict is not due yet');
  });

  it('given the priority 2 conflict due in 4 min, when event time is driven past resolve_by with deadline records, then it escalates once, at the record that reached resolve_by', async () => {
    const cid = id(acks.stale);
    const due = acks.stale.meta.occurred_at + 600 * S;
    const tick = (atUs: number): ConflictDeadlinePassed => ({
      type: 'ConflictDeadlinePassed',
      meta: { event_id: randomUUID(), correlation_id: cid, causation_id: null, occurred_at: atUs, producer: 'test', sequence: null },
      conflict_id: cid, resolve_by: due,
    });
    const early = tick(due - S);
    const onTime = tick(due);
    const later = tick(due + 30 * S);
    await k.sendEvents('mesh.conflicts', [early, onTime, later].map((e) => ({ key: cid, event: e })));
    const es = await collectEvents(k, 'mesh.conflicts', (xs) => of(xs, 'ConflictEscalated', cid).length >= 1 && xs.some((e) => e.meta.event_id === later.meta.event_id));
    // The coordinator has handled `later` once its group committed past it; the escalation came before.
    const esc = of(es, 'ConflictEscalated', cid);
    assert.equal(esc.length, 1);
    assert.equal(esc[0]!.level, 'SECTOR_COORDINATOR');
    assert.equal(esc[0]!.meta.causation_id, onTime.meta.event_id);
    assert.equal(esc[0]!.sector_id, null, 'an ack names no sector');
  });

  it('solvermesh conflicts (a child process) lists them with --open, --type, --agent, --since filters', async () => {
    const rows = async (...args: string[]) => {
      const run = await runCli(['conflicts', ...args, '--json'], env());
      assert.equal(run.code, 0, run.stderr);
      return run.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as ConflictSummary);
    };
    const all = await rows();
    assert.deepEqual(all.map((r) => r.conflict_id).sort(), [acks.stale, acks.operator, acks.reroute, acks.deep].map(id).sort());
    const byId = new Map(all.map((r) => [r.conflict_id, r]));
    assert.deepEqual(byId.get(id(acks.deep))!.escalated_to, ['SECTOR_COORDINATOR', 'ORCHESTRATOR']);
    assert.equal(byId.get(id(acks.deep))!.overdue, true);
    assert.equal(byId.get(id(acks.reroute))!.status, 'RESOLVED');
    assert.deepEqual((await rows('--open')).map((r) => r.conflict_id).sort(), [acks.stale, acks.operator, acks.deep].map(id).sort());
    assert.deepEqual((await rows('--type', 'capability_mismatch')).map((r) => r.conflict_id), [id(acks.reroute)]);
    assert.deepEqual((await rows('--agent', 'S000-C00-A03')).map((r) => r.conflict_id), [id(acks.deep)]);
    // Between the stale reports (2 min before the spec's start) and the fresh ones (at it); relative
    // forms are the unit spec's (the spec's start may be minutes ago in a full run).
    const since = new Date((nowUs - 60 * S) / 1000).toISOString();
    assert.deepEqual((await rows('--since', since)).map((r) => r.conflict_id).sort(), [acks.operator, acks.reroute].map(id).sort());
    const table = await runCli(['conflicts', '--open'], env());
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^CONFLICT\s+REPORTED\s+AGENT\s+TYPE/);
    assert.match(table.stdout, new RegExp(`${id(acks.deep)} .* CONTEXT_DIVERGENCE +3 +BRANCH_AND_RECONCILE +OVERDUE`));
    const bad = await runCli(['conflicts', '--type', 'NOPE'], env());
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--type "NOPE": use one of CONTEXT_DIVERGENCE/);
  });

  it('solvermesh conflicts resolve --by an operator: prints the resolution and exits 0; a second time, or an unknown id, exits 3 and sends nothing', async () => {
    const cid = id(acks.operator);
    const run = await runCli(['conflicts', 'resolve', cid, '--by', 'cecilia', '--note', 'provenance traced to sensor 7', '--value', '42'], env());
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), `conflict ${cid} RESOLVED by cecilia (PROVENANCE_TRACE): provenance traced to sensor 7`);
    const es = await collectEvents(k, 'mesh.conflicts', (xs) => of(xs, 'ConflictResolved', cid).length >= 1);
    const [cmd] = of(es, 'ConflictResolutionRequested', cid);
    const [res] = of(es, 'ConflictResolved', cid) as ConflictResolved[];
    assert.equal(res!.meta.causation_id, cmd!.meta.event_id);
    assert.deepEqual([res!.resolved_by, res!.resolved_value, res!.outcome], ['cecilia', '42', 'RESOLVED']);

    const again = await runCli(['conflicts', 'resolve', cid, '--by', 'bob'], env());
    assert.equal(again.code, 3, again.stdout);
    assert.match(again.stderr, /already resolved by cecilia \(PROVENANCE_TRACE RESOLVED\); nothing was sent/);
    const unknown = await runCli(['conflicts', 'resolve', randomUUID(), '--by', 'bob'], env());
    assert.equal(unknown.code, 3);
    assert.match(unknown.stderr, /is not in .*mesh\.conflicts; nothing was sent/);
    const after = await collectEvents(k, 'mesh.conflicts', (xs) => of(xs, 'ConflictResolved', cid).length >= 1);
    assert.equal(after.filter((e) => e.type === 'ConflictResolutionRequested').length, 1, 'only the first command was sent');
    const open = (await runCli(['conflicts', '--open', '--json'], env())).stdout.trim().split('\n').map((l) => (JSON.parse(l) as ConflictSummary).conflict_id);
    assert.deepEqual(open.sort(), [acks.stale, acks.deep].map(id).sort());
  });

  it('given a restarted coordinator, then its book is rebuilt from the log: an operator resolution of an overdue conflict still works and a replayed deadline changes nothing', async () => {
    await svc?.stop();
    svc = await startService(coordinatorService, { ...process.env, TOPIC_PREFIX: k.prefix, HTTP_PORT: '0', LOG_LEVEL: 'warn', INSTANCE_ID: 'conflicts-int-2' });
    const cid = id(acks.deep);
    const run = await runCli(['conflicts', 'resolve', cid, '--by', 'ops', '--method', 'manual_review', '--wait', '60'], env());
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`conflict ${cid} RESOLVED by ops \\(MANUAL_REVIEW\\)`));
    const es = await collectEvents(k, 'mesh.conflicts', (xs) => of(xs, 'ConflictResolved', cid).length >= 1);
    assert.equal(of(es, 'ConflictEscalated', cid).length, 2, 'no escalation repeated after the restart');
    // Written once by the first coordinator; an overdue conflict awaits no further deadline.
    assert.equal(of(es, 'ConflictDeadlinePassed', cid).length, 1);
  });
});
