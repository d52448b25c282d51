// Given the impedance service (registry in a private Redis), the guardian and the simulator's
// agents against the real broker, when simulated agents stop heartbeating, then the impedance
// offline timers and 5 s summaries move the guardian's mode and partition decisions, and the
// schedules obey them. Event time comes from the simulator's heartbeats (count mode: as fast as
// the broker takes them, event time as if in real time), so nobody waits 30 s of wall time.
import assert from 'node:assert/strict';
import type { MeshFrozen, MeshThawed, OperationalModeChanged, SolvermeshEvent } from '../../../schemas/generated/events';
import { loadConfig } from '../../../services/runtime/config';
import { buildMesh, NO_FAULTS, pickFaults } from '../../../services/simulator/generator';
import { runMeshSim } from '../../../services/simulator/sim';
import { SUMMARY_EVERY_US } from '../../../services/impedance/partition-fold';
import { derivedEventId } from '../../../services/runtime/ids';
import { runCli as cli } from '../../support/process';
import { useImpedanceWorld, startImpedance, waitCaughtUp } from '../impedance/support';
import { startRun, type SolverChild } from '../solver/support';
import { partitionOf } from '../../../services/runtime/kafka/partition-key';
import { MESH_PARTITIONS } from '../../../topics/catalog';
import { readTopic, until } from './support';

const PERIOD_US = 5_000_000;

const modes = (es: SolvermeshEvent[]) => es.filter((e): e is OperationalModeChanged => e.type === 'OperationalModeChanged');
const partitions = (es: SolvermeshEvent[]) => es.filter((e): e is MeshFrozen | MeshThawed => e.type === 'MeshFrozen' || e.type === 'MeshThawed');

/**
 * Period 0 of a simulated mesh half a summary interval past a summary tick: an agent's heartbeat
 * phase is index * 5 s / agents, so the first half of the agents (by index) beat before the
 * summary tick of each period, and fall silent 30 s after a period's heartbeat by the tick 7 periods on.
 */
const halfPastTick = () => Math.floor((Date.now() * 1000) / SUMMARY_EVERY_US) * SUMMARY_EVERY_US + SUMMARY_EVERY_US / 2;

/** Each spec its own topics, Redis and guardian: the meshes share agent ids. */
function useWorld(label: string) {
  const w = useImpedanceWorld(label);
  const children: SolverChild[] = [];
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') for (const c of children) process.stderr.write(`--- ${c.proc.spawnargs.slice(2).join(' ')}\n${c.output()}\n`);
    for (const c of children.splice(0)) { c.proc.kill('SIGKILL'); await c.exited; }
    await w.svc?.stop();
    w.svc = undefined;
  });
  return { w, children };
}

describe('guardian with the simulator, impedance and Redis: the mode as agents die', function () {
  this.timeout(300_000);
  const { w, children } = useWorld('guardian-sim-modes');

  it('given 1,200 simulated agents of which 6 clusters fall silent before one summary and 6 more before the next, the mode goes FULL -> DEGRADED_LIGHT -> DEGRADED_MODERATE and a scatter over the 1,200 is refused while one sector is scheduled', async () => {
    w.svc = await startImpedance(w.k, w.redisSrv.url);
    children.push(startRun(w.k, ['guardian'], { GUARDIAN_TICK_MS: '0' }));
    const env = { ...process.env, TOPIC_PREFIX: w.k.prefix, LOG_LEVEL: 'warn' };
    const agents = 1200;
    const mesh = buildMesh(agents, 11);
    // S000 and S001 (agents 0-599) beat in the first half of each 5 s period. S000's first six
    // clusters fall silent after period 1, S001's after period 2.
    const six = ['C00', 'C01', 'C02', 'C03', 'C04', 'C05'];
    const early = six.map((c) => `S000-${c}`);
    const late = six.map((c) => `S001-${c}`);
    const silent = (period: number) => pickFaults(mesh, { failingClusters: [...(period >= 2 ? early : []), ...(period >= 3 ? late : [])] }, 12);
    const startUs = halfPastTick();
    const config = loadConfig(env);
    // Period by period, each once the impedance service has caught up with the last, so every
    // 5 s tick is summarised (a burst may skip ticks: the spec below).
    for (let period = 0; period < 12; period++) {
      const faults = silent(period);
      const beating = agents - 30 * faults.failingClusters.size;
      const run = await runMeshSim({ config, agents, seed: 11, faults, startUs: startUs + period * PERIOD_US, count: beating });
      assert.equal(run.sent, beating);
      await waitCaughtUp(w.k, 'mesh.heartbeats');
    }
    // Offline 30 s of event time after their last heartbeat (phase < 2.5 s): `early` by the tick
    // at start + 37.5 s, `late` by the next; neither tick's period takes the other group offline.
    const firstTick = startUs + 7 * PERIOD_US + SUMMARY_EVERY_US / 2;
    const summaryId = (tick: number) => derivedEventId(`summary:${tick}`, 'mesh');
    const changes = await until('two mode changes', async () => modes(await readTopic(w.k, 'mesh.circuits')), (ms) => ms.length >= 2);
    assert.deepEqual(changes.map((m) => [m.previous_mode, m.new_mode, m.active_agents, m.total_agents, m.meta.causation_id]), [
      ['FULL', 'DEGRADED_LIGHT', 1020, 1200, summaryId(firstTick)],
      ['DEGRADED_LIGHT', 'DEGRADED_MODERATE', 840, 1200, summaryId(firstTick + SUMMARY_EVERY_US)],
    ]);
    assert.ok(changes[1]!.restrictions.includes('Disable scatter operations over 1000 agents'));

    await until('the impedance service to hold the mode', () => w.redis.hget(`${w.prefix}restrictions`, 'mode'), (v) => v?.startsWith('DEGRADED_MODERATE|') === true);
    const all = await cli(['mesh', 'coordinate', '--targets', 'sector:S000,sector:S001,sector:S002,sector:S003', '--at', '+3s', '--wait', '60'], env);
    assert.equal(all.code, 4, all.stdout);
    assert.match(all.stderr, /refused by the mesh: DEGRADED_MODERATE: scatter operations over 1000 agents are disabled \(1200 targets\)/);
    const one = await cli(['mesh', 'coordinate', '--targets', 'sector:S002', '--at', '+3s', '--wait', '60', '--json'], env);
    assert.equal(one.code, 0, one.stderr);
    const entries = (JSON.parse(one.stdout.trim()) as { entries: { status: string }[] }).entries;
    assert.equal(entries.length, 300);
    assert.ok(entries.some((e) => e.status === 'SCHEDULED'), 'a healthy sector is still scheduled');
    assert.equal(modes(await readTopic(w.k, 'mesh.circuits')).length, 2, 'no further change');
  });
});

describe('guardian with the simulator, impedance and Redis: a minority partition', function () {
  this.timeout(300_000);
  const { w, children } = useWorld('guardian-sim-partition');

  it('given 120 simulated agents of which 3 clusters (90) stop heartbeating, the mesh freezes (PARTITION_MINORITY) and refuses coordinations, and thaws when they beat again', async () => {
    w.svc = await startImpedance(w.k, w.redisSrv.url);
    children.push(startRun(w.k, ['guardian'], { GUARDIAN_TICK_MS: '0' }));
    const env = { ...process.env, TOPIC_PREFIX: w.k.prefix, LOG_LEVEL: 'warn' };
    const agents = 120;
    const mesh = buildMesh(agents, 21);
    const gone = pickFaults(mesh, { failingClusters: ['S000-C00', 'S000-C01', 'S000-C02'] }, 22);
    const startUs = halfPastTick();
    const config = loadConfig(env);
    const beat = async (from: number, to: number, faults = NO_FAULTS) => {
      for (let period = from; period < to; period++) {
        const count = agents - 30 * faults.failingClusters.size;
        const run = await runMeshSim({ config, agents, seed: 21, faults, startUs: startUs + period * PERIOD_US, count });
        assert.equal(run.sent, count);
        await waitCaughtUp(w.k, 'mesh.heartbeats');
      }
    };
    const decided = async () => partitions(await readTopic(w.k, 'mesh.circuits'));

    // Two periods of the whole mesh, then seven of S000-C03 alone: the other 90 go offline 30 s
    // of event time after their last heartbeat.
    await beat(0, 2);
    await beat(2, 9, gone);
    const frozen = (await until('the freeze', decided, (ps) => ps.length >= 1));
    assert.equal(frozen.length, 1);
    assert.equal(frozen[0]!.type, 'MeshFrozen');
    const f = frozen[0] as MeshFrozen;
    assert.deepEqual([f.reason, f.total_peers], ['PARTITION_MINORITY', 120]);
    assert.ok(f.reachable_peers < 60, `${f.reachable_peers} of 120 reachable`);
    await until('the impedance service to hold the freeze', () => w.redis.hget(`${w.prefix}restrictions`, 'frozen'), (v) => v?.startsWith('1|') === true);
    // Critical (priority 3), so the degraded mode alone would let it pass.
    const refused = await cli(['mesh', 'coordinate', '--targets', 'cluster:S000-C03', '--at', '+3s', '--priority', '3', '--wait', '60'], env);
    assert.equal(refused.code, 4, refused.stdout);
    assert.match(refused.stderr, /refused by the mesh: MESH_FROZEN: the mesh is frozen since \S+ \(PARTITION_MINORITY: /);

    // The 90 beat again: the mesh thaws once half are reachable, and coordinates again.
    await beat(9, 12);
    const after = (await until('the thaw', decided, (ps) => ps.length >= 2));
    assert.deepEqual(after.map((e) => e.type), ['MeshFrozen', 'MeshThawed']);
    const t = after[1] as MeshThawed;
    assert.equal(t.meta.causation_id, f.meta.event_id);
    assert.equal(t.frozen_at, f.meta.occurred_at);
    assert.ok(t.reachable_peers >= 60, `${t.reachable_peers} of 120 reachable`);
    await until('the impedance service to lift it', () => w.redis.hget(`${w.prefix}restrictions`, 'frozen'), (v) => v?.startsWith('0|') === true);
    // The recovered agents score DEGRADED for a while (their missed heartbeats), so the mode is
    // still degraded (SEVERE: an operator approves it): the same critical request now passes.
    const approved = await cli(['mesh', 'approve', '--by', 'cecilia'], env);
    assert.equal(approved.code, 0, approved.stderr);
    const ok = await cli(['mesh', 'coordinate', '--targets', 'cluster:S000-C00', '--at', '+3s', '--priority', '3', '--wait', '60', '--json', '--correlation-id', approved.stdout.trim()], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout.trim()) as { entries: unknown[] }).entries.length, 30);
  });
});

describe('guardian with the simulator, impedance and Redis: a burst of periods', function () {
  this.timeout(300_000);
  const { w, children } = useWorld('guardian-sim-burst');

  it('given the 1,200-agent mesh whose 12 clusters fall silent, when 8 periods are sent at once, then the summaries wait for every heartbeat partition and the mode ends DEGRADED_MODERATE (840/1200), never worse', async () => {
    w.svc = await startImpedance(w.k, w.redisSrv.url);
    children.push(startRun(w.k, ['guardian'], { GUARDIAN_TICK_MS: '0' }));
    const env = { ...process.env, TOPIC_PREFIX: w.k.prefix, LOG_LEVEL: 'warn' };
    const agents = 1200;
    const mesh = buildMesh(agents, 11);
    const six = ['C00', 'C01', 'C02', 'C03', 'C04', 'C05'];
    const silent = (period: number) => pickFaults(mesh, { failingClusters: [...(period >= 2 ? six.map((c) => `S000-${c}`) : []), ...(period >= 3 ? six.map((c) => `S001-${c}`) : [])] }, 12);
    const startUs = halfPastTick();
    const config = loadConfig(env);
    for (let period = 0; period < 3; period++) {
      const faults = silent(period);
      const beating = agents - 30 * faults.failingClusters.size;
      assert.equal((await runMeshSim({ config, agents, seed: 11, faults, startUs: startUs + period * PERIOD_US, count: beating })).sent, beating);
      await waitCaughtUp(w.k, 'mesh.heartbeats');
    }
    // Periods 3-10 in one burst (840 agents beating), partition 0's heartbeats produced first:
    // the service reads 40 s of partition 0's event time before the others' records exist, where a
    // summary at partition 0's tick found the other partitions' live agents silent.
    const faults = silent(3);
    const inP0 = (id: string) => partitionOf(id, MESH_PARTITIONS) === 0;
    const live = mesh.filter((a) => !faults.failingClusters.has(a.clusterId));
    const part = async (dead: Set<string>, beating: number) => {
      const sent = await runMeshSim({ config, agents, seed: 11, faults: { ...faults, dead }, startUs: startUs + 3 * PERIOD_US, count: 8 * beating });
      assert.equal(sent.sent, 8 * beating);
    };
    const first = live.filter((a) => inP0(a.agentId)).length;
    assert.ok(first > 0 && first < live.length);
    await part(new Set(mesh.filter((a) => !inP0(a.agentId)).map((a) => a.agentId)), first);
    await part(new Set(mesh.filter((a) => inP0(a.agentId)).map((a) => a.agentId)), live.length - first);
    await waitCaughtUp(w.k, 'mesh.heartbeats');
    const changes = await until('DEGRADED_MODERATE', async () => modes(await readTopic(w.k, 'mesh.circuits')), (ms) => ms.at(-1)?.new_mode === 'DEGRADED_MODERATE');
    assert.deepEqual(changes.at(-1)!.active_agents, 840);
    assert.equal(changes.at(-1)!.total_agents, 1200);
    for (const m of changes) assert.ok(['DEGRADED_LIGHT', 'DEGRADED_MODERATE'].includes(m.new_mode), `${m.previous_mode} -> ${m.new_mode} (${m.active_agents}/${m.total_agents})`);
    // Every summary the burst made counts the 840 live agents active (none of a lagging partition silent).
    const summaries = (await readTopic(w.k, 'mesh.summaries')).filter((e) => e.type === 'MeshSummarized');
    assert.ok(summaries.length >= 3, `${summaries.length} mesh summaries`);
    for (const s of summaries) assert.ok(s.type === 'MeshSummarized' && s.active_agents >= 840, `${s.type === 'MeshSummarized' ? s.active_agents : ''} active at ${s.meta.occurred_at}`);
  });
});
