// Given a 300-agent mesh in the impedance registry and the simulator's agents answering what the
// coordinator dispatches, four agents of one cluster answering CONFLICT (a deep context divergence,
// priority 3): when the cluster is asked to be READY at T, the coordinator dispatches it, the gather
// decides RESOLVE_CONFLICTS, and each of the four conflicts is logged on mesh.conflicts,
// quarantined, escalated at once to the sector coordinator, escalated again to the orchestrator by
// the deadline record the coordinator writes itself at resolve_by (1 min), and one is resolved by an
// operator through `solvermesh conflicts resolve` (seed 002 §5.1, §5.2; issue 18).
import assert from 'node:assert/strict';
import type { ConflictDetail, ConflictEscalated, ConflictQuarantined, ConflictReported, ConflictResolved, QuorumDecided, SolvermeshEvent } from '../../../schemas/generated/events';
import { coordinatorService } from '../../../services/coordinator';
import { decidedEarly } from '../../../services/coordinator/gather';
import { loadConfig } from '../../../services/runtime/config';
import { startService, type RunningService } from '../../../services/runtime/service';
import { buildMesh, NO_FAULTS } from '../../../services/simulator/generator';
import { startMeshAgents } from '../../../services/simulator/sim';
import { runCli } from '../../support/process';
import { fillRegistry, sectorRequest, until } from '../../support/coordination';
import { collectEvents, startImpedance, useImpedanceWorld } from '../impedance/support';

const MESH = 300;
const CLUSTER = 'S000-C00';
const S = 1_000_000;

describe('a cluster of conflicting agents: RESOLVE_CONFLICTS, its conflicts logged, quarantined, escalated when overdue and resolved (simulator, real broker, Redis, services)', function () {
  this.timeout(300_000);
  const w = useImpedanceWorld('conflict-quorum');
  let coordinator: RunningService | undefined;
  let stopAgents: (() => Promise<void>) | undefined;
  const mesh = buildMesh(MESH, 1);
  const cluster = mesh.filter((a) => a.clusterId === CLUSTER && a.agentClass !== 'CLASS_F_HUMAN');
  // four of the cluster's ~28 scheduled agents: 4/28 > the seed's 5 % conflict rate
  const conflicting = new Set(cluster.slice(0, 4).map((a) => a.agentId));
  const divergence: ConflictDetail = {
    conflict_type: 'CONTEXT_DIVERGENCE', expected_value: 'plan-a', received_value: 'plan-b', context_hash: 'ctx-div', divergence_depth: 12, affects_agent_count: null, conflicting_data: null,
  };
  const env = () => ({ ...process.env, TOPIC_PREFIX: w.k.prefix, LOG_LEVEL: 'warn' });
  let decision: QuorumDecided;
  let conflicts: SolvermeshEvent[];

  before(async () => {
    w.svc = await startImpedance(w.k, w.redisSrv.url);
    await fillRegistry(w.k, w.redis, w.prefix, MESH);
    coordinator = await startService(coordinatorService, { ...env(), HTTP_PORT: '0', INSTANCE_ID: 'conflict-quorum-0' });
    stopAgents = await startMeshAgents({ config: loadConfig(env()), mesh, seed: 1, faults: { ...NO_FAULTS, conflicting, conflictDetail: divergence } });
  });
  after(async () => {
    await stopAgents?.();
    await coordinator?.stop();
  });

  it(`given 4 of cluster ${CLUSTER} answering CONFLICT, when the cluster is asked to be READY at T = now + 3 s, then the gather decides RESOLVE_CONFLICTS with the four counted (or unsettled, when it decided early) and advice to resolve them first`, async () => {
    const req = sectorRequest([`cluster:${CLUSTER}`], 3000, 500);
    await w.k.sendEvents('mesh.coordination', [{ key: req.meta.correlation_id, event: req }]);
    const [d] = await until(w.k, 'mesh.acks', 'QuorumDecided', req.meta.correlation_id, (rs) => rs.length > 0, 60_000);
    decision = d!.event;
    assert.equal(decision.sent_count, cluster.length, 'every non-human agent of the cluster was sent the message');
    // decided early, once enough CONFLICT are in that no other answer changes it: the others are still unsettled
    const unsettled = decidedEarly(decision) ? decision.unsettled_count! : 0;
    assert.ok(decision.conflict_count + unsettled >= conflicting.size, `${decision.conflict_count} CONFLICT answers, ${unsettled} unsettled`);
    assert.ok(decision.conflict_count / decision.sent_count > 0.05);
    assert.ok(decision.transit_count / decision.sent_count <= 0.10, `${decision.transit_count} in transit: the decision would be WAIT`);
    assert.deepEqual([decision.decision, decision.achieved, decision.retry_advice], ['RESOLVE_CONFLICTS', false, 'RESOLVE_CONFLICTS_FIRST']);
    assert.match(decision.reason ?? '', /^Conflict rate .* exceeds threshold/);
  });

  it('then each conflicting agent\'s CONFLICT is on the conflict log, quarantined at priority 3 (BRANCH_AND_RECONCILE, resolve_by 1 min) and escalated to its sector coordinator', async () => {
    const mine = (e: SolvermeshEvent) => 'agent_id' in e && conflicting.has(e.agent_id as string);
    conflicts = await collectEvents(w.k, 'mesh.conflicts', (es) => es.filter((e) => e.type === 'ConflictEscalated' && mine(e)).length >= conflicting.size, 60_000);
    const reported = conflicts.filter((e): e is ConflictReported => e.type === 'ConflictReported' && e.meta.correlation_id === decision.meta.correlation_id && mine(e));
    assert.deepEqual(reported.map((r) => r.agent_id).sort(), [...conflicting].sort());
    for (const r of reported) {
      const q = conflicts.find((e): e is ConflictQuarantined => e.type === 'ConflictQuarantined' && e.conflict_id === r.conflict_id);
      assert.ok(q, `${r.conflict_id} quarantined`);
      assert.deepEqual([q.priority, q.suggested_strategy.method, q.resolve_by], [3, 'BRANCH_AND_RECONCILE', r.meta.occurred_at + 60 * S]);
      const esc = conflicts.filter((e): e is ConflictEscalated => e.type === 'ConflictEscalated' && e.conflict_id === r.conflict_id);
      assert.deepEqual(esc.map((e) => e.level), ['SECTOR_COORDINATOR']);
    }
  });

  it('when resolve_by passes unresolved, then the coordinator\'s own deadline record escalates each to the orchestrator, once; and an operator resolves one (a child process, exit 0)', async () => {
    const ids = conflicts.filter((e): e is ConflictReported => e.type === 'ConflictReported' && conflicting.has(e.agent_id)).map((e) => e.conflict_id);
    const overdue = (es: SolvermeshEvent[], id: string) => es.filter((e): e is ConflictEscalated => e.type === 'ConflictEscalated' && e.conflict_id === id && e.level === 'ORCHESTRATOR');
    const es = await collectEvents(w.k, 'mesh.conflicts', (xs) => ids.every((id) => overdue(xs, id).length >= 1), 150_000);
    for (const id of ids) {
      const [o] = overdue(es, id);
      assert.equal(overdue(es, id).length, 1, `${id} escalated once`);
      assert.match(o!.reason, /^overdue: priority 3 CONTEXT_DIVERGENCE/);
      const cause = es.find((e) => e.meta.event_id === o!.meta.causation_id);
      assert.equal(cause?.type, 'ConflictDeadlinePassed', 'escalated by the deadline record in its partition');
    }
    const run = await runCli(['conflicts', 'resolve', ids[0]!, '--by', 'ops', '--note', 'branches reconciled', '--wait', '60'], env());
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`conflict ${ids[0]} RESOLVED by ops \\(BRANCH_AND_RECONCILE\\)`));
    const done = await collectEvents(w.k, 'mesh.conflicts', (xs) => xs.some((e) => e.type === 'ConflictResolved' && e.conflict_id === ids[0]), 30_000);
    const res = done.find((e): e is ConflictResolved => e.type === 'ConflictResolved' && e.conflict_id === ids[0])!;
    assert.deepEqual([res.resolved_by, res.outcome], ['ops', 'RESOLVED']);
    const open = (await runCli(['conflicts', '--open', '--json'], env())).stdout.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { conflict_id: string }).conflict_id);
    assert.ok(!open.includes(ids[0]!) && ids.slice(1).every((id) => open.includes(id)), 'the resolved one is no longer open, the others are');
  });
});
