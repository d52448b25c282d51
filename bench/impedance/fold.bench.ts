// CPU per heartbeat of decode + fold alone (no Kafka, no Redis): the heartbeats of a
// 30,000-agent mesh over 6 partitions, each partition's fold committed every BENCH_BATCH of its
// heartbeats as the runner does (an agent heartbeats several times per batch when catching up).
// With BENCH_IMPL (another implementation's directory, e.g. an older commit's services/impedance)
// both run interleaved in this process; medians of BENCH_RUNS.
//   BENCH_HEARTBEATS (300000)  BENCH_BATCH (20000)  BENCH_RUNS (7)
import type { HeartbeatReceived } from '../../schemas/generated/events';
import { loadEventSchemas } from '../../schemas/catalog';
import * as current from '../../services/impedance/partition-fold';
import { AGENTS, median, meshHeartbeats } from './fill';

const N = Number(process.env.BENCH_HEARTBEATS ?? 300_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 20_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const PARTITIONS = 6;

function main(): void {
  const impls: Array<[string, typeof current]> = [['current', current]];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (process.env.BENCH_IMPL) impls.unshift([process.env.BENCH_IMPL, require(`${process.env.BENCH_IMPL}/partition-fold`) as typeof current]);
  const hbType = loadEventSchemas().get('HeartbeatReceived')!.type;
  const values: Buffer[] = [];
  for (const hb of meshHeartbeats(N)) values.push(hbType.toBuffer(hb));
  const cpu: number[][] = impls.map(() => []);
  for (let r = 0; r < RUNS; r++) {
    impls.forEach(([, impl], k) => {
      const folds = Array.from({ length: PARTITIONS }, () => new impl.PartitionFold());
      const counts = new Array<number>(PARTITIONS).fill(0);
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < N; i++) {
        const hb = hbType.fromBuffer(values[i]!) as HeartbeatReceived & { type: string };
        hb.type = 'HeartbeatReceived';
        const p = (i % AGENTS) % PARTITIONS;
        folds[p]!.apply(hb);
        if (++counts[p]! % BATCH === 0) { folds[p]!.takeDirty(); folds[p]!.commit(); }
      }
      const d = process.cpuUsage(cpu0);
      cpu[k]!.push((d.user + d.system) / N);
    });
  }
  impls.forEach(([name], k) => process.stdout.write(`${name}: decode + fold median ${median(cpu[k]!).toFixed(2)} cpu-µs per heartbeat (runs ${cpu[k]!.map((x) => x.toFixed(2)).join(', ')})\n`));
}

main();
