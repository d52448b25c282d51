// `make demo`: the main job. Each part starts its service, pushes events through Kafka and
// prints what comes out; any part that does not see what it expects fails the demo (exit 1).
import { checkMeshDemo, runMeshDemo } from '../simulator/demo';
import { runConflictsDemo, say } from './conflicts';
import { runSolverDemo } from './solver';

// 45 s: the dead agents stop after 5 s and must be 30 s of event time past their last heartbeat.
const MESH_MS = Number(process.env.DEMO_MESH_MS ?? 45_000);

async function main(): Promise<void> {
  say('=== part 1: conflict intake (coordinator, seed 002 §5.1)');
  await runConflictsDemo();

  say('=== part 2: a streaming solver session (seed 000), re-converging after bursts of cost updates');
  await runSolverDemo();

  say(`=== part 3: a simulated mesh of 30,000 agents into the impedance registry for ${MESH_MS / 1000} s, one cluster asked to arrive together every 5 s`);
  const mesh = await runMeshDemo({ durationMs: MESH_MS, onStatus: (line) => say(`  ${line}`) });
  say(`== mesh OK: ${checkMeshDemo(mesh)}`);

  say('== demo OK');
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`demo failed: ${(err as Error).message}\n`);
  process.exit(1);
});
