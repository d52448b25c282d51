// Given a 30,000-agent mesh in the impedance registry (the simulator's heartbeats folded by the
// impedance service, its Redis private to the spec) and the simulator's agents answering what is
// dispatched to them, when 3,000 of them are asked to be READY at T: the coordinator (a child
// process, as an operator runs it) dispatches each message at its send time and decides PROCEED
// within the window; and killed with SIGKILL in the middle of a second gather, it still makes
// exactly one decision, the one the gather makes from the same log without interruption.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { AckReceived } from '../../../schemas/generated/events';
import { COORDINATOR_KNOBS } from '../../../services/coordinator/config';
import { MAX_MEASURED_AHEAD_MS } from '../../../services/coordinator/production-cost';
import { buildMesh, type AgentProfile } from '../../../services/simulator/generator';
import { waitFor } from '../../support/kafka';
import { startRun, type SolverChild } from '../solver/support';
import { useImpedanceWorld, waitCaughtUp } from '../impedance/support';
import { closureOf, decidedEarly } from '../../../services/coordinator/gather';
import { AGENTS_PER_SECTOR, fillRegistry, foldDecision, percentile, plain, readMesh, sectorIds, sectorRequest, startAgents, startCoordinator, until, waitGroupStable } from '../../support/coordination';

const MESH = Number(process.env.COORDINATION_SPEC_AGENTS ?? 30_000);
const SECTORS_PER_RUN = Math.max(1, Math.round(MESH / (10 * AGENTS_PER_SECTOR)));
const LEAD_MS = 5000;
const WINDOW_MS = 500;
// Acks in flight when the window ends land before its deadline: on the 2-core machine shared
// with the broker, Redis and other work, 3,000 agents' acks were appended up to ~2 s after their
// arrival; the knob's default is 1 s).
const GRACE_MS = Number(process.env.COORDINATION_SPEC_GRACE_MS ?? 5000);
const COORDINATOR_ENV = { INSTANCE_ID: 'coordinator-0', COORDINATOR_GATHER_GRACE_MS: String(GRACE_MS) };
const AHEAD_MS = COORDINATOR_KNOBS.coordinatorDispatchAheadMs.default;
const US_PER_MESSAGE = COORDINATOR_KNOBS.coordinatorDispatchUsPerMessage.default;

const sectors = (first: number) => sectorIds(first, SECTORS_PER_RUN);

describe(`coordinator: dispatch at send times and trinary quorum, ${MESH / 10} agents of a ${MESH}-agent mesh`, function () {
  this.timeout(600_000);
  const w = useImpedanceWorld('coordination');
  let coordinator: SolverChild | undefined;
  let impedance: SolverChild | undefined;
  let agents: ChildProcess | undefined;
  let mesh: AgentProfile[];
  /**
   * Class C agents of the second run's sectors made 5x slower: their acks arrive after the window.
   * One in three: more than 5 % of those sent (1 in 10, 52 of 2,807, were too few), so no PROCEED is
   * fixed before their late acks or the deadline, and the kill at T comes before the decision.
   */
  let slow: Set<string>;

  afterEach(async function () {
    if (this.currentTest?.state !== 'failed') return;
    if (coordinator) process.stdout.write(`coordinator output:\n${coordinator.output().slice(-6000)}\n`);
    for (const t of ['mesh.coordination', 'mesh.schedules', 'mesh.dispatch', 'mesh.acks']) {
      const counts = new Map<string, number>();
      for (const r of await readMesh(w.k, t)) counts.set(`${r.event.type}@${r.partition}`, (counts.get(`${r.event.type}@${r.partition}`) ?? 0) + 1);
      process.stdout.write(`${t}: ${JSON.stringify(Object.fromEntries(counts))}\n`);
    }
    // the acks refused (signature, sequence, rate): their reasons
    const reasons = new Map<string, number>();
    await w.k.collect('mesh.acks.dlq', (rs) => {
      reasons.clear();
      for (const r of rs) { const m = `${r.headers['dlq.error.class']}: ${(r.headers['dlq.error.message'] ?? '').replace(/S\d+-C\d+-A\d+|\d{6,}/g, '#')}`; reasons.set(m, (reasons.get(m) ?? 0) + 1); }
      return false;
    }, 5000).catch(() => undefined);
    process.stdout.write(`mesh.acks.dlq: ${JSON.stringify(Object.fromEntries(reasons))}\n`);
  });

  after(async () => {
    coordinator?.proc.kill('SIGKILL');
    impedance?.proc.kill('SIGKILL');
    agents?.kill('SIGTERM');
  });

  const request = (targets: string[]) => sectorRequest(targets, LEAD_MS, WINDOW_MS);

  // A load spec, run unsigned (MESH_SIGNING=off, the documented switch for load tests): with
  // signing on, on the shared 2-core machine, 19-91 % of the first gather's acks missed its
  // window. Signing and its refusals are the security specs' subject (test/int/security).
  const signingBefore = process.env.MESH_SIGNING;
  before(() => { process.env.MESH_SIGNING = 'off'; });
  after(() => { if (signingBefore === undefined) delete process.env.MESH_SIGNING; else process.env.MESH_SIGNING = signingBefore; });

  before(async () => {
    // the services as child processes: this process is the simulator's 30,000 agents
    impedance = startRun(w.k, ['impedance'], { REDIS_URL: w.redisSrv.url, INSTANCE_ID: 'impedance-0' });
    mesh = buildMesh(MESH, 1);
    const second = new Set(sectors(SECTORS_PER_RUN).map((s) => s.slice('sector:'.length)));
    slow = new Set(mesh.filter((a) => second.has(a.sectorId) && a.agentClass === 'CLASS_C_PERSISTENT' && a.index % 3 === 0).map((a) => a.agentId));
    await fillRegistry(w.k, w.redis, w.prefix, MESH);
    agents = await startAgents(w.k, MESH, slow);
    coordinator = startCoordinator(w.k, { ...COORDINATOR_ENV, LOG_LEVEL: process.env.SPEC_LOG_LEVEL ?? 'warn' });
    await waitGroupStable(w.k, 'coordinator');
    // a first coordination of as many agents (the mesh's last sectors), as a running mesh has had:
    // the processes' first messages (connections, schema lookups, code not yet optimised; the
    // agents' first 2,800 messages reached them after their ttl) are not the ones measured
    const warm = request(sectors(MESH / AGENTS_PER_SECTOR - SECTORS_PER_RUN));
    await w.k.sendEvents('mesh.coordination', [{ key: warm.meta.correlation_id, event: warm }]);
    await until(w.k, 'mesh.acks', 'QuorumDecided', warm.meta.correlation_id, (rs) => rs.length > 0, 60_000);
  });

  it(`given ${SECTORS_PER_RUN} sectors asked to be READY at T = now + ${LEAD_MS / 1000} s, then each SCHEDULED agent is sent the message once at its send time (less the transport allowance), and the coordinator decides PROCEED inside the window`, async () => {
    const req = request(sectors(0));
    const corr = req.meta.correlation_id;
    const T = req.target_arrival_time;
    await w.k.sendEvents('mesh.coordination', [{ key: corr, event: req }]);

    const [decided] = await until(w.k, 'mesh.acks', 'QuorumDecided', corr, (rs) => rs.length > 0, 60_000);
    const d = decided!.event;
    const schedule = (await until(w.k, 'mesh.schedules', 'ScheduleComputed', corr, (rs) => rs.length > 0)).flatMap((r) => r.event.entries);
    const scheduled = schedule.filter((e) => e.status === 'SCHEDULED');
    const dispatched = (await readMesh(w.k, 'mesh.dispatch')).filter((r) => r.event.type === 'MessageDispatched' && r.event.meta.correlation_id === corr);
    const acks = await readMesh(w.k, 'mesh.acks');

    // then every SCHEDULED agent got the message exactly once, none before its 10 ms send bucket less the allowances, all before T
    assert.equal(schedule.length, 10 * 30 * SECTORS_PER_RUN);
    const byAgent = new Map(scheduled.map((e) => [e.agent_id, e]));
    assert.deepEqual(dispatched.map((r) => (r.event.type === 'MessageDispatched' ? r.event.agent_id : '')).sort(), [...byAgent.keys()].sort());
    const lateMs: number[] = [];
    const appendMs: number[] = [];
    // a tick may release a bucket early by the production allowance of the sends due with it (dispatch.ts releasePoint);
    // releases of fewer than 5,000 messages are not measured for it (production-cost.ts), so it is the knob's;
    // they measure the transport allowance, which may grow past the knob to MAX_MEASURED_AHEAD_MS
    const earliestUs = (Math.max(AHEAD_MS, MAX_MEASURED_AHEAD_MS) * 1000) + scheduled.length * US_PER_MESSAGE;
    for (const r of dispatched) {
      if (r.event.type !== 'MessageDispatched') continue;
      const e = byAgent.get(r.event.agent_id)!;
      assert.ok(r.event.dispatched_at >= e.send_bucket_at! - earliestUs, `${e.agent_id} sent before its bucket less the transport and production allowances`);
      assert.equal(r.event.target_arrival_time, T);
      lateMs.push((r.event.dispatched_at - e.send_at!) / 1000);
      appendMs.push(r.timestampMs - e.send_at! / 1000);
    }
    const mine = acks.flatMap((r) => (r.event.type === 'AckReceived' && r.event.meta.correlation_id === corr ? [{ arrival: ((r.event as AckReceived).actual_arrival_at - T) / 1000, appended: r.timestampMs - T / 1000 }] : []));
    const ackArrivals = mine.map((x) => x.arrival);
    const ackAppends = mine.map((x) => x.appended);
    process.stdout.write(`      ${scheduled.length} sent of ${schedule.length} (${schedule.length - scheduled.length} SKIP); dispatched_at - send_at p50 ${percentile(lateMs, 50).toFixed(1)} p99 ${percentile(lateMs, 99).toFixed(1)} ms; `
      + `appended - send_at p50 ${percentile(appendMs, 50).toFixed(1)} p99 ${percentile(appendMs, 99).toFixed(1)} ms; ack arrival - T p50 ${percentile(ackArrivals, 50).toFixed(1)} p99 ${percentile(ackArrivals, 99).toFixed(1)} ms, appended - T p50 ${percentile(ackAppends, 50).toFixed(0)} p99 ${percentile(ackAppends, 99).toFixed(0)} ms (${mine.length} acks); `
      + `decided at T + ${((d.meta.occurred_at - T) / 1000).toFixed(1)} ms (event time), appended at T + ${(decided!.timestampMs - T / 1000).toFixed(0)} ms; ready ${d.ready_count} conflict ${d.conflict_count} confidence ${d.confidence?.toFixed(4)}, ${d.decision} by ${closureOf(d)}\n`);
    // and the gather: every agent sent the message counted, the decision PROCEED before T + window
    assert.deepEqual([d.decision, d.achieved, d.gather_status, d.sent_count, d.total], ['PROCEED', true, 'SUCCESS', scheduled.length, scheduled.length]);
    assert.ok(d.meta.occurred_at <= d.window_end_at!, `decided at T + ${(d.meta.occurred_at - T) / 1000} ms, after the ${WINDOW_MS} ms window (${d.closed_by})`);
    // by the ack after which nothing the agents not yet settled could answer changes PROCEED SUCCESS, or by the last one
    assert.ok(decidedEarly(d) || d.closed_by === 'ALL_ANSWERED', `closed by ${closureOf(d)}`);
    assert.ok(d.confidence! >= 0.95 - 0.025, `confidence ${d.confidence}`);
    // and it is the decision the gather makes from this log
    assert.deepEqual(plain(d), plain(foldDecision(acks, corr)));
  });

  it(`given a second gather of ${SECTORS_PER_RUN} sectors whose slow agents answer after the window, when the coordinator is killed with SIGKILL at T (after the dispatch) and restarted, then exactly one decision, identical to an uninterrupted run over the same log`, async () => {
    const req = request(sectors(SECTORS_PER_RUN));
    const corr = req.meta.correlation_id;
    const T = req.target_arrival_time;
    await w.k.sendEvents('mesh.coordination', [{ key: corr, event: req }]);
    // when the dispatch is over and acks are coming in
    const [completed] = await until(w.k, 'mesh.acks', 'DispatchCompleted', corr, (rs) => rs.length > 0, 60_000);
    const sent = completed!.event.dispatched_agent_ids.length;
    await waitFor(() => Date.now() >= T / 1000, LEAD_MS + 1000, 'T');
    coordinator!.proc.kill('SIGKILL');
    await coordinator!.exited;
    const killedAt = Date.now();
    // Read with no coordinator running, so what it holds is what the killed one had written (read
    // before the kill, a slow read under load let the early decision land meanwhile: a false failure)
    const before = (await readMesh(w.k, 'mesh.acks')).filter((r) => r.event.meta.correlation_id === corr);
    assert.equal(before.filter((r) => r.event.type === 'QuorumDecided').length, 0, 'killed before the decision');
    // restarted under the same instance id, as a pod is: it takes the dead one's partitions at once
    coordinator = startCoordinator(w.k, COORDINATOR_ENV);

    // then one decision, once nothing the agents not yet settled could answer changes it, once every
    // agent is settled (the slow ones by their late acks) or at the window's deadline, whichever
    // comes first in the log, with the slow agents as stragglers
    const [decided] = await until(w.k, 'mesh.acks', 'QuorumDecided', corr, (rs) => rs.length > 0, 60_000);
    const d = decided!.event;
    // and nothing more once the restarted coordinator has read every deadline written for this gather
    await waitCaughtUp(w.k, 'mesh.acks', 60_000, true, 'coordinator');
    const acks = await readMesh(w.k, 'mesh.acks');
    process.stdout.write(`      killed at T + ${killedAt - T / 1000} ms; ${d.decision} ${d.gather_status} by ${closureOf(d)}: ready ${d.ready_count}, conflict ${d.conflict_count}, transit ${d.transit_count} (silent ${d.silent_count}, late ${d.late_count}) of ${d.sent_count}; decision appended at T + ${(decided!.timestampMs - T / 1000).toFixed(0)} ms\n`);
    assert.equal(acks.filter((r) => r.event.type === 'QuorumDecided' && r.event.meta.correlation_id === corr).length, 1, 'exactly one decision');
    assert.deepEqual(plain(d), plain(foldDecision(acks, corr)), 'the decision of an uninterrupted fold of the same log');
    // (PROCEED when the agents keep up: on this shared machine a load spike has left enough acks
    // after their window for WAIT, which the fold above decides alike)
    assert.equal(d.sent_count, sent);
    assert.ok(d.closed_by === 'WINDOW_CLOSED' || (d.closed_by === 'ALL_ANSWERED' && d.late_count > 0) || decidedEarly(d), `closed by ${closureOf(d)} with ${d.late_count} late`);
    const slowSent = completed!.event.dispatched_agent_ids.filter((a) => slow.has(a));
    assert.ok(slowSent.length > 0, 'slow agents were sent the message');
    assert.ok(d.silent_count >= slowSent.length, `${slowSent.length} slow agents: silent ${d.silent_count}`);
    if (d.straggler_count <= 100) for (const a of slowSent) assert.ok(d.straggler_ids.includes(a), `${a} named a straggler`);
    // and each message went out once: the kill came after the dispatch
    const dispatched = (await readMesh(w.k, 'mesh.dispatch')).filter((r) => r.event.meta.correlation_id === corr);
    assert.equal(dispatched.length, sent);
  });
});
