// make bench-recovery: how long a service takes to come back after kill -9. Each service runs
// as `solvermesh run <service>` (its own process, as deployed) while its input flows
// (scenarios.ts: cost updates into a solver session, heartbeats into impedance, conflict reports
// into the coordinator). At a random moment the process is killed with SIGKILL and started again
// at once, alternately with the same INSTANCE_ID (as a pod keeps its name) and with a new random
// one. Measured: from the kill to the arrival of the first output that reflects an input sent
// after the kill. Medians of BENCH_RUNS per service and id kind, in the same run; the target is
// <= 5 s with a stable id. Also shown: from the kill to the new process's "partitions assigned".
//   BENCH_RUNS (5)  BENCH_SERVICES (solver,impedance,coordinator)  BENCH_ENGINE (rdkafka | kafkajs)
//   BENCH_SEED (1: the kill moments)  BENCH_KEEP_LOG (directory for each process's log)
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { EventCodec } from '../../services/runtime/codec';
import { loadConfig } from '../../services/runtime/config';
import { deletePrefixedTopics } from '../../topics/apply';
import { seededRandom } from '../../wasm/src/problems';
import { median, within } from '../solver-service/measure';
import { startServiceProcess, type ServiceProcess } from '../solver-service/service';
import { SCENARIOS, type Scenario, type ServiceName } from './scenarios';
import { benchRecord, type Figure } from '../report/figures';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SERVICES = (process.env.BENCH_SERVICES ?? 'solver,impedance,coordinator').split(',') as ServiceName[];
const ENGINE = (process.env.BENCH_ENGINE ?? 'rdkafka') as 'rdkafka' | 'kafkajs';
const KEEP_LOG = process.env.BENCH_KEEP_LOG;
/** Longest wait for an output; a random id waits out the dead member's session (30 s) first. */
const OUTPUT_TIMEOUT_MS = 180_000;

const config = loadConfig(process.env);
// Each service process started registers an exit hook (startServiceProcess): 2 * RUNS + 1 per service.
process.setMaxListeners(SERVICES.length * (2 * RUNS + 2) + 10);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends the scenario's inputs at its rate, by the clock, and remembers when each was sent. */
class Feed {
  private readonly sentAt: number[] = [];
  private running = true;
  private loop: Promise<void> | undefined;
  constructor(private readonly scenario: Scenario) {}

  start(): void {
    const t0 = performance.now();
    this.loop = (async () => {
      while (this.running) {
        const due = Math.floor(((performance.now() - t0) * this.scenario.rate) / 1000) + 1;
        while (this.sentAt.length < due) {
          const seq = this.sentAt.length;
          this.sentAt.push(performance.now());
          await this.scenario.send(seq);
        }
        await sleep(2);
      }
    })();
  }

  /** The first input sent at or after `t`, once it is sent. */
  async firstAfter(t: number): Promise<number> {
    for (;;) {
      const i = this.sentAt.findIndex((at) => at >= t);
      if (i >= 0) return i;
      await sleep(2);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

type Mode = 'stable' | 'random';
interface Run { readonly recoveryMs: number; readonly assignedMs: number | undefined }

/** Ms from `wallMs` to the first "partitions assigned" the process logged (pino's time field). */
function assignedAfter(log: string, wallMs: number): number | undefined {
  for (const line of log.split('\n')) {
    if (!line.includes('partitions assigned')) continue;
    const m = /"time":"([^"]+)"/.exec(line);
    if (m) return Date.parse(m[1]!) - wallMs;
  }
  return undefined;
}

async function exited(svc: ServiceProcess): Promise<void> {
  if (svc.proc.exitCode !== null || svc.proc.signalCode !== null) return;
  await new Promise((r) => svc.proc.once('exit', r));
}

async function benchService(name: ServiceName, rnd: () => number): Promise<Record<Mode, Run[]>> {
  const prefix = `bench-recovery-${name}-${Date.now().toString(36)}${randomBytes(2).toString('hex')}.`;
  const scenario = SCENARIOS[name]({ brokers: config.kafkaBrokers, codec: new EventCodec(config.schemaRegistryUrl), redisUrl: config.redisUrl, prefix });
  const newId = () => `recovery-${name}-${randomBytes(3).toString('hex')}`;
  const start = (id: string) => startServiceProcess(name, prefix, { ...scenario.env, KAFKA_CLIENT: ENGINE, INSTANCE_ID: id });
  const results: Record<Mode, Run[]> = { stable: [], random: [] };
  const logs: string[] = [];
  await scenario.prepare();
  let id = newId();
  let svc = start(id);
  const feed = new Feed(scenario);
  try {
    await svc.port();
    await scenario.ready();
    feed.start();
    for (let r = 0; r < 2 * RUNS; r++) {
      const mode: Mode = r % 2 === 0 ? 'stable' : 'random';
      // Running and caught up: an input sent now is reflected.
      await within(scenario.reflected(await feed.firstAfter(performance.now())), OUTPUT_TIMEOUT_MS, `${name} to reflect its input before kill ${r + 1}`);
      await sleep(500 + rnd() * 2500);
      const killedAt = performance.now();
      const killedWall = Date.now();
      svc.proc.kill('SIGKILL');
      await exited(svc);
      logs.push(svc.log());
      if (mode === 'random') id = newId();
      svc = start(id);
      const seq = await feed.firstAfter(killedAt);
      const at = await within(scenario.reflected(seq), OUTPUT_TIMEOUT_MS, `${name} to reflect input ${seq} after kill ${r + 1} (${mode} id)`);
      const run = { recoveryMs: at - killedAt, assignedMs: assignedAfter(svc.log(), killedWall) };
      results[mode].push(run);
      process.stderr.write(`${name} kill ${r + 1}/${2 * RUNS} (${mode} INSTANCE_ID): output after ${(run.recoveryMs / 1000).toFixed(2)} s, partitions assigned after ${run.assignedMs === undefined ? '?' : (run.assignedMs / 1000).toFixed(2)} s\n`);
    }
  } catch (err) {
    process.stderr.write(`--- ${name} log (tail) ---\n${svc.log().slice(-6000)}\n`);
    throw err;
  } finally {
    await feed.stop();
    await svc.stop();
    logs.push(svc.log());
    if (KEEP_LOG) {
      mkdirSync(KEEP_LOG, { recursive: true });
      logs.forEach((l, i) => writeFileSync(join(KEEP_LOG, `${name}-${i}.log`), l));
    }
    await scenario.close();
    await deletePrefixedTopics(config.kafkaBrokers, prefix);
  }
  return results;
}

async function main(): Promise<void> {
  const rnd = seededRandom(Number(process.env.BENCH_SEED ?? 1));
  const record = benchRecord('recovery', RUNS);
  const load0 = loadavg();
  const table: Array<{ name: ServiceName; results: Record<Mode, Run[]> }> = [];
  for (const name of SERVICES) table.push({ name, results: await benchService(name, rnd) });
  const load1 = loadavg();
  const s = (ms: number | undefined) => (ms === undefined ? '?' : (ms / 1000).toFixed(2));
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`bench-recovery: kill -9 -> first output reflecting input sent after the kill; ${RUNS} kills per row, medians; engine ${ENGINE}; load average ${load0.map((x) => x.toFixed(2)).join(' ')} before, ${load1.map((x) => x.toFixed(2)).join(' ')} after`);
  out(`${'service'.padEnd(12)} ${'INSTANCE_ID'.padEnd(12)} ${'recovery s'.padStart(10)} ${'assigned s'.padStart(10)}  runs (recovery s)                    target <= 5 s`);
  for (const { name, results } of table) {
    for (const mode of ['stable', 'random'] as const) {
      const runs = results[mode];
      const rec = median(runs.map((x) => x.recoveryMs));
      const assigned = runs.every((x) => x.assignedMs !== undefined) ? median(runs.map((x) => x.assignedMs!)) : undefined;
      const target = mode === 'stable' ? (rec <= 5000 ? 'met' : 'MISSED') : '';
      out(`${name.padEnd(12)} ${mode.padEnd(12)} ${s(rec).padStart(10)} ${s(assigned).padStart(10)}  ${runs.map((x) => s(x.recoveryMs)).join(', ').padEnd(36)} ${target}`);
    }
  }
  const figures: Figure[] = table.map(({ name, results }) => {
    const rec = (mode: Mode) => median(results[mode].map((x) => x.recoveryMs / 1000));
    return { section: `kill -9 -> next output, engine ${ENGINE}`, name: `${name} restarted under the same INSTANCE_ID`, value: rec('stable'), unit: 's', better: 'lower', runs: results.stable.map((x) => x.recoveryMs / 1000), baseline: { name: 'restarted under a random INSTANCE_ID', value: rec('random') }, target: '<= 5 s', met: rec('stable') <= 5 };
  });
  record.done(figures);
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`bench-recovery: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
