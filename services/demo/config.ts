// The demo's knob, read with the same reader as the services' (services/runtime/knobs.ts).
import type { KnobDecls } from '../runtime/knobs';

export const DEMO_KNOBS = {
  // 45 s: the dead agents stop after 5 s and go offline 30 s of event time after their last
  // heartbeat, inside the run (a shorter one checks them still active).
  demoMeshMs: { env: 'DEMO_MESH_MS', kind: 'int', default: 45_000, min: 1_000, max: 3_600_000, doc: 'How long `make demo` runs the simulated 30,000-agent mesh (ms).' },
  demoIdentities: { env: 'DEMO_IDENTITIES', kind: 'string', default: '', doc: 'Directory of `<service>.env` identity files (`make demo SECURE=1`: `.infra/secure`): each service the demo runs as a process runs under its own principal and Redis user.' },
} as const satisfies KnobDecls;
