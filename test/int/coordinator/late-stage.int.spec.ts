// A late stage re-planned against the real broker, registry and Redis (issue 18): given a
// sector's schedule written while no coordinator runs, when the coordinator starts only after
// every release point and T itself have passed (a coordinator started late on a backlog), then its
// first DispatchDue carries the lateness in shift_us, every message goes out at its send time moved
// by it, the simulator's agents still arrive together (at T + shift), the quorum is decided inside
// the shifted window, and `solvermesh mesh replay-coordination` refolds the same outputs.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { AckReceived, DispatchDue, MessageDispatched } from '../../../schemas/generated/events';
import { decidedEarly, closureOf } from '../../../services/coordinator/gather';
import { runCli } from '../../support/process';
import { useImpedanceWorld } from '../impedance/support';
import { startRun, type SolverChild } from '../solver/support';
import { fillRegistry, foldDecision, percentile, plain, readMesh, sectorIds, sectorRequest, startAgents, startCoordinator, until, waitGroupStable } from '../../support/coordination';

const MESH = 3000;
const LEAD_MS = 2000;
const WINDOW_MS = 500;
/** How long after T the coordinator starts: the unshifted plan's window is over by then. */
const LATE_BY_MS = 2000;
const MS = 1000;

describe('coordinator: a stage whose release points passed before the coordinator read it is re-planned, not sent late', function () {
  this.timeout(300_000);
  const w = useImpedanceWorld('late-stage');
  let impedance: SolverChild | undefined;
  let coordinator: SolverChild | undefined;
  let agents: ChildProcess | undefined;

  const signingBefore = process.env.MESH_SIGNING;
  before(() => { process.env.MESH_SIGNING = 'off'; });
  after(() => { if (signingBefore === undefined) delete process.env.MESH_SIGNING; else process.env.MESH_SIGNING = signingBefore; });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && coordinator) process.stdout.write(`coordinator output:\n${coordinator.output().slice(-6000)}\n`);
  });

  after(async () => {
    coordinator?.proc.kill('SIGKILL');
    impedance?.proc.kill('SIGKILL');
    agents?.kill('SIGTERM');
  });

  before(async () => {
    impedance = startRun(w.k, ['impedance'], { REDIS_URL: w.redisSrv.url, INSTANCE_ID: 'impedance-0' });
    await fillRegistry(w.k, w.redis, w.prefix, MESH);
    agents = await startAgents(w.k, MESH, []);
  });

  it(`given a sector's schedule read by a coordinator started ${LATE_BY_MS / 1000} s after its T, then the sends, T and window move by the lateness, the agents arrive together at T + shift and PROCEED is decided inside the shifted window; the replay refolds it`, async () => {
    const req = sectorRequest(sectorIds(0, 1), LEAD_MS, WINDOW_MS);
    const corr = req.meta.correlation_id;
    const T = req.target_arrival_time;
    await w.k.sendEvents('mesh.coordination', [{ key: corr, event: req }]);
    const schedule = (await until(w.k, 'mesh.schedules', 'ScheduleComputed', corr, (rs) => rs.length > 0, 60_000)).flatMap((r) => r.event.entries);
    const scheduled = new Map(schedule.filter((e) => e.status === 'SCHEDULED').map((e) => [e.agent_id, e]));
    assert.ok(scheduled.size > 200, `${scheduled.size} of ${schedule.length} SCHEDULED`);
    // when the coordinator starts on that backlog only once T + LATE_BY_MS has passed
    await new Promise((r) => setTimeout(r, Math.max(0, T / MS + LATE_BY_MS - Date.now())));
    const startedAtMs = Date.now();
    coordinator = startCoordinator(w.k, { INSTANCE_ID: 'coordinator-0', COORDINATOR_GATHER_GRACE_MS: '4000', LOG_LEVEL: 'warn' });
    await waitGroupStable(w.k, 'coordinator');

    const [decided] = await until(w.k, 'mesh.acks', 'QuorumDecided', corr, (rs) => rs.length > 0, 90_000);
    const d = decided!.event;
    const ticks = (await readMesh(w.k, 'mesh.schedules')).flatMap((r) => (r.event.type === 'DispatchDue' && r.event.meta.correlation_id === corr ? [r.event as DispatchDue] : []));
    const dispatched = (await readMesh(w.k, 'mesh.dispatch')).flatMap((r) => (r.event.type === 'MessageDispatched' && r.event.meta.correlation_id === corr ? [r.event as MessageDispatched] : []));
    const acks = await readMesh(w.k, 'mesh.acks');
    const arrivals = acks.flatMap((r) => (r.event.type === 'AckReceived' && r.event.meta.correlation_id === corr ? [(r.event as AckReceived).actual_arrival_at] : []));

    // then the first tick carries the shift: how late the coordinator came after the plan's first
    // release point, which is before T, so at least how late it came after T
    const shift = ticks[0]?.shift_us ?? 0;
    assert.ok(shift >= startedAtMs * MS - T, `first tick's shift ${shift / MS} ms; started at T + ${startedAtMs - T / MS} ms`);
    assert.equal(ticks.filter((t) => (t.shift_us ?? 0) > 0).length, 1, 'one tick shifts');
    // and every SCHEDULED agent is sent the message once, at its send time moved by the shift, for T + shift
    assert.deepEqual(dispatched.map((m) => m.agent_id).sort(), [...scheduled.keys()].sort());
    for (const m of dispatched) {
      assert.equal(m.send_at, scheduled.get(m.agent_id)!.send_at! + shift, `${m.agent_id}'s send time moved by the shift`);
      assert.equal(m.target_arrival_time, T + shift);
    }
    // and the agents arrive together: at T + shift, not each at its own lateness after T
    const fromT = arrivals.map((a) => (a - (T + shift)) / MS);
    const inWindow = arrivals.filter((a) => a <= T + shift + WINDOW_MS * MS).length;
    process.stdout.write(`      shift ${shift / MS} ms (coordinator started at T + ${startedAtMs - T / MS} ms); ${dispatched.length} sent of ${schedule.length}; `
      + `ack arrival - (T + shift) p1 ${percentile(fromT, 1).toFixed(1)} p50 ${percentile(fromT, 50).toFixed(1)} p99 ${percentile(fromT, 99).toFixed(1)} ms, ${inWindow}/${arrivals.length} in the window; `
      + `decided at T + shift + ${((d.meta.occurred_at - T - shift) / MS).toFixed(1)} ms, ${d.decision} ${d.gather_status} by ${closureOf(d)}\n`);
    assert.ok(inWindow >= 0.95 * dispatched.length, `${inWindow} of ${dispatched.length} arrived by T + shift + window`);
    assert.ok(percentile(fromT, 99) - percentile(fromT, 1) <= WINDOW_MS, 'arrivals spread within one window');
    // and the quorum is decided inside the shifted window: PROCEED, every agent counted
    assert.deepEqual([d.target_arrival_time, d.window_end_at], [T + shift, T + shift + WINDOW_MS * MS]);
    assert.deepEqual([d.decision, d.gather_status, d.sent_count], ['PROCEED', 'SUCCESS', dispatched.length]);
    assert.ok(d.meta.occurred_at <= d.window_end_at!, `decided ${(d.meta.occurred_at - d.window_end_at!) / MS} ms after the shifted window`);
    assert.ok(decidedEarly(d) || d.closed_by === 'ALL_ANSWERED', `closed by ${closureOf(d)}`);
    assert.deepEqual(plain(d), plain(foldDecision(acks, corr)));

    // and the replay of the coordinator's partitions (the shifted tick among them) gives the same outputs byte for byte
    const cli = await runCli(['mesh', 'replay-coordination'], { ...process.env, TOPIC_PREFIX: w.k.prefix });
    assert.equal(cli.code, 0, `${cli.stdout}\n${cli.stderr}`);
    const identical = Number(/^OK coordination: (\d+) dispatch, quorum, payload-mismatch and cascade events identical byte for byte/.exec(cli.stdout)?.[1] ?? 0);
    assert.ok(identical >= dispatched.length + 2, cli.stdout);
  });
});
