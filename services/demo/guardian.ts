// `make demo`, guardian part (seed 002 §6, seed 004): the impedance service and the guardian as
// their own processes over a run's own mesh topics, and a simulated mesh of 600 agents in which a
// failing cluster and its two neighbours stop heartbeating for 35 s of event time. Prints the
// breakers' lives (CLOSED -> OPEN -> HALF_OPEN -> CLOSED) and the cascade witness; the demo fails
// when either is not what the seed says.
//
// Event time comes from the heartbeats, sent as fast as the broker takes them: two minutes of
// breaker timers pass in seconds. They go out a few periods at a time, each batch once the
// impedance service has read the last: its 5 s summaries read the registry as every partition
// left it, and a partition far behind would show live agents silent.
import type { SolvermeshEvent, StructuralWitnessRecorded } from '../../schemas/generated/events';
import { MESH_PARTITIONS } from '../../topics/catalog';
import { EventCodec } from '../runtime/codec';
import { committedOffsets, endOffsets, readLog } from '../runtime/kafka/log-reader';
import { openMeshNamespace } from '../simulator/demo';
import { NO_FAULTS, pickFaults, buildMesh, type Faults } from '../simulator/generator';
import { runMeshSim } from '../simulator/sim';
import { say } from './conflicts';
import { startService } from './service-process';

const AGENTS = 600;
const SEED = 5;
const PERIOD_US = 5_000_000;
/** The failing cluster and its neighbours: agents 90-179, silent within 0.75 s of each other in every period. */
const FAILING = ['S000-C03', 'S000-C04', 'S000-C05'];
/** Periods (5 s) of the whole mesh, then of the mesh without FAILING, then of the whole mesh again. */
const PLAN: ReadonlyArray<readonly [periods: number, silent: boolean]> = [[2, false], [7, true], [19, false]];
const PERIODS_PER_BATCH = 3;

export interface GuardianDemoResult {
  readonly lives: ReadonlyMap<string, readonly string[]>;
  readonly cascades: readonly StructuralWitnessRecorded[];
}

export async function runGuardianDemo(baseEnv: NodeJS.ProcessEnv = process.env): Promise<GuardianDemoResult> {
  const ns = await openMeshNamespace('demo-guardian', baseEnv);
  const { config } = ns;
  const topic = (t: string) => config.topicPrefix + t;
  say(`== starting the impedance service and the guardian (solvermesh run impedance | guardian) on ${topic('mesh.*')}`);
  const impedance = startService('impedance', ns.env);
  const guardian = startService('guardian', { ...ns.env, GUARDIAN_TICK_MS: '0' });
  const services = [impedance, guardian];
  try {
    const mesh = buildMesh(AGENTS, SEED);
    const failing = pickFaults(mesh, { failingClusters: FAILING }, SEED + 1);
    const startUs = Date.now() * 1000;
    say(`== ${AGENTS} simulated agents; ${FAILING.join(', ')} fall silent after 10 s of event time and beat again 35 s later`);
    let period = 0;
    for (const [periods, silent] of PLAN) {
      for (let done = 0; done < periods; done += PERIODS_PER_BATCH) {
        const n = Math.min(PERIODS_PER_BATCH, periods - done);
        const faults: Faults = silent ? failing : NO_FAULTS;
        const beating = AGENTS - (silent ? 30 * FAILING.length : 0);
        await runMeshSim({ config, agents: AGENTS, seed: SEED, faults, startUs: startUs + period * PERIOD_US, count: n * beating });
        period += n;
        await caughtUp(config.kafkaBrokers, topic('mesh.heartbeats'), `${config.topicPrefix}solvermesh.impedance`);
      }
    }
    say(`   sent ${period} periods (${period * 5} s of event time)`);

    const codec = new EventCodec(config.schemaRegistryUrl);
    const read = async (t: string) => (await readLog(config.kafkaBrokers, codec, [...Array(MESH_PARTITIONS).keys()].map((p) => ({ topic: topic(t), partition: p, from: 0 }))))
      .flatMap((r) => (r.event ? [r.event] : [])).sort((a, b) => a.meta.occurred_at - b.meta.occurred_at);
    const closedAll = (es: SolvermeshEvent[]) => FAILING.every((c) => es.some((e) => e.type === 'CircuitStateChanged' && e.scope_id === c && e.new_state === 'CLOSED'));
    const deadline = Date.now() + 60_000;
    let circuits = await read('mesh.circuits');
    while (!closedAll(circuits) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      circuits = await read('mesh.circuits');
    }
    const witnesses = await read('mesh.witnesses');
    const rel = (us: number) => `+${((us - startUs) / 1e6).toFixed(1)} s`;

    say('== what the guardian decided (mesh.circuits), in event time since the first heartbeat');
    const lives = new Map<string, string[]>();
    for (const e of circuits) {
      const at = rel(e.meta.occurred_at).padStart(8);
      if (e.type === 'CircuitStateChanged') {
        const name = `${e.scope} ${e.scope_id}`;
        lives.set(name, [...(lives.get(name) ?? []), `${e.previous_state}->${e.new_state}`]);
        const next = e.next_probe_at === null ? '' : `; next at ${rel(e.next_probe_at)}`;
        const recovered = e.recovery_time_us === null ? '' : `; incident restored ${(e.recovery_time_us / 1e6).toFixed(1)} s after detection`;
        say(`  ${at}  ${name.padEnd(17)} ${e.previous_state} -> ${e.new_state}  (${e.reason}${next}${recovered})`);
      } else if (e.type === 'OperationalModeChanged') say(`  ${at}  mode ${e.previous_mode} -> ${e.new_mode} (${e.active_agents}/${e.total_agents} agents active)`);
      else if (e.type === 'MeshFrozen' || e.type === 'MeshThawed') say(`  ${at}  ${e.type}: ${e.detail}`);
    }
    const cascades = witnesses.filter((e): e is StructuralWitnessRecorded => e.type === 'StructuralWitnessRecorded' && e.trigger === 'CASCADE');
    say('== the witness (mesh.witnesses)');
    for (const w of cascades) {
      say(`  ${rel(w.meta.occurred_at).padStart(8)}  ${w.trigger_text}: ${w.component_states.map((s) => `${s.component_id} (error rate ${s.error_rate.toFixed(1)}, ${s.circuit_state})`).join(', ')}`);
      say(`            decision: ${w.decision}; action: ${w.action_taken ?? 'none'}; causal chain of ${w.causal_chain.length} events`);
    }
    return { lives, cascades };
  } finally {
    for (const s of services) {
      const code = await s.stop();
      if (code !== 0) process.stderr.write(`${s.log().slice(-3000)}\n`);
    }
    await ns.drop().catch((err: unknown) => { process.stderr.write(`guardian demo: namespace not dropped: ${(err as Error).message}\n`); });
  }
}

/** One line on what the run shows, or an error naming what it lacks. */
export function checkGuardianDemo(r: GuardianDemoResult): string {
  const problems: string[] = [];
  for (const c of FAILING) {
    const life = r.lives.get(`CLUSTER ${c}`) ?? [];
    const opened = life.indexOf('CLOSED->OPEN');
    const half = life.indexOf('OPEN->HALF_OPEN', opened);
    const closed = life.indexOf('HALF_OPEN->CLOSED', half);
    if (opened < 0 || half < 0 || closed < 0) problems.push(`cluster ${c}: ${life.join(', ') || 'no breaker change'} (want CLOSED->OPEN, OPEN->HALF_OPEN, HALF_OPEN->CLOSED)`);
  }
  const named = r.cascades.map((w) => w.component_states.map((s) => s.component_id).sort().join(','));
  const want = FAILING.map((c) => `cluster:${c}`).join(',');
  if (r.cascades.length !== 1 || named[0] !== want) problems.push(`cascade witnesses: ${JSON.stringify(named)} (want one naming ${want})`);
  if (problems.length > 0) throw new Error(`guardian demo: ${problems.join('; ')}`);
  return `${FAILING.length} breakers opened, probed half-open and closed after recovery; one cascade witness naming ${FAILING.join(', ')}`;
}

/** Waits until `groupId` has committed everything now in `topic` (the service read what was sent). */
async function caughtUp(brokers: readonly string[], topic: string, groupId: string): Promise<void> {
  const ends = await endOffsets(brokers, topic, MESH_PARTITIONS);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const committed = await committedOffsets(brokers, groupId, ends.map((_, partition) => ({ topic, partition })));
    if (ends.every((end, p) => end === 0 || (committed.get(`${topic}/${p}`) ?? -1) >= end)) return;
    if (Date.now() > deadline) throw new Error(`the impedance service did not read ${topic} to its end within 60 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

if (require.main === module) {
  runGuardianDemo().then(checkGuardianDemo).then((line) => { say(`== guardian OK: ${line}`); process.exit(0); }, (err: unknown) => {
    process.stderr.write(`guardian demo: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
