// `make demo`: the main job. Each part starts its service, pushes events through Kafka and
// prints what comes out; any part that does not see what it expects fails the demo (exit 1).
import '../runtime/quiet-warnings';
import { readKnobs } from '../runtime/knobs';
import { checkMeshDemo, runMeshDemo } from '../simulator/demo';
import { DEMO_KNOBS } from './config';
import { runConflictsDemo, say } from './conflicts';
import { runGatewayDemo } from './gateway';
import { FINALE_LEAD_MS, scatterGatherFinale } from './mesh-finale';
import { checkGuardianDemo, runGuardianDemo } from './guardian';
import { runSolverDemo } from './solver';

async function main(): Promise<void> {
  const { demoMeshMs } = readKnobs(DEMO_KNOBS);
  say('=== part 1: conflict intake (coordinator, seed 002 §5.1)');
  await runConflictsDemo();

  say('=== part 2: a streaming solver session (seed 000), re-converging after bursts of cost updates');
  await runSolverDemo();

  say('=== part 3: the HTTP gateway (seed 000 §1, §9): a session opened and streamed as NDJSON with curl');
  await runGatewayDemo();

  say(`=== part 4: a simulated mesh of 30,000 agents into the impedance registry for ${demoMeshMs / 1000} s, one cluster asked to arrive together every 5 s, ending with a scatter-gather of a sector and the KPIs`);
  // Unsigned (MESH_SIGNING=off, the switch for load runs): here the 30,000 agents, the impedance
  // service and the coordinator share one process, and verifying 30,000 signatures per period
  // in it made the dispatches miss their ttl. Part 5's mesh runs signed.
  say('  (this part runs with MESH_SIGNING=off: a load run in one process; the mesh of part 5 signs its heartbeats and the impedance service verifies them)');
  const mesh = await runMeshDemo({
    env: { ...process.env, MESH_SIGNING: 'off' },
    durationMs: demoMeshMs, onStatus: (line) => say(`  ${line}`),
    // ends with a scatter-gather of one sector decided while the agents answer, and the KPIs
    finale: { startMsBeforeEnd: Math.min(FINALE_LEAD_MS, demoMeshMs), run: async (config) => (await scatterGatherFinale(config, 'S000')).lines },
  });
  for (const line of mesh.finale ?? []) say(`  ${line}`);
  say(`== mesh OK: ${checkMeshDemo(mesh)}`);

  say('=== part 5: a failing cluster and its neighbours in a simulated mesh: the guardian\'s breakers and cascade witness (seed 002 §6, seed 004)');
  say(`== guardian OK: ${checkGuardianDemo(await runGuardianDemo())}`);

  say('== demo OK');
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`demo failed: ${(err as Error).message}\n`);
  process.exit(1);
});
