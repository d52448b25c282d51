// Given the impedance service (registry in a private Redis), the guardian and the simulator's
// agents against the real broker, when simulated agents stop heartbeating, then the impedance
// offline timers and 5 s summaries move the guardian's mode and partition decisions, and the
// schedules obey them. Event time comes from the simulator's heartbeats (count mode: as fast as
// the broker takes them, event time as if in real time), so nobody waits 30 s of wall time.
import assert from 'node:assert/strict';
import type { MeshFrozen, MeshThawed, OperationalModeChanged, SolvermeshEvent } from '../../../schemas/generated/events';
import { loadConfig } from '../../../services/runtime/config';
import { buildMesh, pickFaults } from '../../../services/simulator/generator';
import { runMeshSim } from '../../../services/simulator/sim';
import { SUMMARY_EVERY_US } from '../../../services/impedance/partition-fold';
import { derivedEventId } from '../../../services/runtime/ids';
import { runCli as cli } from '../../support/process';
import { useImpedanceWorld, startImpedance, waitCaughtUp } from '../impedance/support';
import { startRun, type SolverChild } from '../solver/support';
import { readTopic, until } from './support';

const PERIOD_US = 5_000_000;

const modes = (es: SolvermeshEvent[]) => es.filter((e): e is OperationalModeChanged => e.type === 'OperationalModeChanged');
const partitions = (es: SolvermeshEvent[]) => es.filter((e): e is MeshFrozen | MeshThawed => e.type === 'MeshFrozen' || e.type === 'MeshThawed');

/**
 * Period 0 of a simulated mesh half a summary interval past a summary tick: an agent's heartbeat
 * phase is index * 5 s / agents, so the first half of the agents (by index) fall silent before
 * one tick and the second half before the next.
 */
const halfPastTick = () => Math.floor((Date.now() * 1000) / SUMMARY_EVERY_US) * SUMMARY_EVERY_US + SUMMARY_EVERY_US / 2;

describe('guardian with the simulator, impedance and Redis: modes and partitions from agents that stop', function () {
  this.timeout(300_000);
  const w = useImpedanceWorld('guardian-sim');
  const children: SolverChild[] = [];
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') for (const c of children) process.stderr.write(`--- ${c.proc.spawnargs.slice(2).join(' ')}\n${c.output()}\n`);
    for (const c of children.splice(0)) { c.proc.kill('SIGKILL'); await c.exited; }
    await w.svc?.stop();
    w.svc = undefined;
  });

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
    // Period by period, each once the impedance service has caught up with the last: it
    // summarises at the latest 5 s tick a batch of partition 0 passed, reading the registry as the
    // other partitions left it, so a burst of many periods would skip ticks and find the agents of
    // partitions not read that far yet silent.
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
    assert.equal(all.code, 1, all.stdout);
    assert.match(all.stderr, /refused by the mesh: DEGRADED_MODERATE: scatter operations over 1000 agents are disabled \(1200 targets\)/);
    const one = await cli(['mesh', 'coordinate', '--targets', 'sector:S002', '--at', '+3s', '--wait', '60', '--json'], env);
    assert.equal(one.code, 0, one.stderr);
    const entries = (JSON.parse(one.stdout.trim()) as { entries: { status: string }[] }).entries;
    assert.equal(entries.length, 300);
    assert.ok(entries.some((e) => e.status === 'SCHEDULED'), 'a healthy sector is still scheduled');
    assert.equal(modes(await readTopic(w.k, 'mesh.circuits')).length, 2, 'no further change');
  });
});
