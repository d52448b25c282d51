// A Kafka cluster of the spec's own (infra/kafka.sh) that it may kill, stop and restart: its own
// ports and its own INFRA_DIR (data, logs, PID files), so neither the shared broker every other
// spec uses nor another engineer's run of the same spec can be touched by it. Only the jars are
// shared, linked from the repository's .infra.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export class PrivateKafka {
  private readonly env: NodeJS.ProcessEnv;
  readonly bootstrap: string;

  /** `portBase`: node i listens on portBase + 100 (i - 1), its controller one above. */
  constructor(readonly brokers: 1 | 3, portBase: number, private readonly dir = mkdtempSync(join(tmpdir(), 'solvermesh-kafka-'))) {
    mkdirSync(join(dir, 'kafka'), { recursive: true });
    symlinkSync(join(ROOT, '.infra', 'kafka', 'libs'), join(dir, 'kafka', 'libs'));
    // A modest heap: three brokers beside the shared stack on a 2-core CI machine.
    this.env = { ...process.env, INFRA_DIR: dir, KAFKA_PORT_BASE: String(portBase), KAFKA_HEAP: process.env.KAFKA_HEAP ?? '512m' };
    this.bootstrap = this.sh('bootstrap').trim();
  }

  private sh(...args: string[]): string {
    return execFileSync('bash', [join(ROOT, 'infra', 'kafka.sh'), ...args, String(this.brokers)], { env: this.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  }

  /** Starts every node that is not running (a killed or stopped one comes back on its data) and waits for all. */
  start(): void { this.sh('start'); }

  /** SIGTERM to every node, waiting for a clean shutdown. */
  stop(): void { this.sh('stop'); }

  /** SIGKILL to node `i` (1-based): a broker lost without warning. */
  kill(i: number): void {
    const pid = Number(readFileSync(join(this.dir, 'run', `kafka-${this.brokers}-${i}.pid`), 'utf8').trim());
    process.kill(pid, 'SIGKILL');
  }

  /**
   * The node coordinating consumer group `groupId` now: the last node whose log says it
   * stabilized the group (the brokers' own word; no client API tells it).
   */
  groupCoordinator(groupId: string): number {
    let found: { at: string; node: number } | undefined;
    for (let i = 1; i <= this.brokers; i++) {
      const file = join(this.dir, 'logs', `kafka-${this.brokers}-${i}.log`);
      if (!existsSync(file)) continue;
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (!line.includes(`Stabilized group ${groupId} `)) continue;
        const at = line.slice(1, 24); // [yyyy-mm-dd hh:mm:ss,mmm]
        if (!found || at > found.at) found = { at, node: i };
      }
    }
    if (!found) throw new Error(`no broker log says it coordinates group ${groupId}`);
    return found.node;
  }

  /** Stops the cluster and deletes its data. */
  destroy(): void {
    try { this.stop(); } finally { rmSync(this.dir, { recursive: true, force: true }); }
  }
}
