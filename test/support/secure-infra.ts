// The secured stack (infra/secure.sh, `make up SECURE=1`) for the attack suite: used when it
// answers, started here otherwise and then stopped when the test process exits. Identities are
// read from the env files it writes; specs pass them to clients explicitly (never through
// process.env, which the other specs' default stack owns).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { readEnvFile } from '../../services/runtime/credentials';

const ROOT = join(__dirname, '..', '..');
const SECURE_DIR = join(ROOT, '.infra', 'secure');

export type Identity = Readonly<Record<string, string>>;

let ready: Promise<void> | undefined;

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

async function running(): Promise<boolean> {
  if (!existsSync(join(SECURE_DIR, 'env'))) return false;
  const env = identity('operator');
  const ports = [Number(env.KAFKA_BROKERS!.split(',')[0]!.split(':')[1]), Number(new URL(env.REDIS_URL!).port), Number(new URL(env.SCHEMA_REGISTRY_URL!).port)];
  return (await Promise.all(ports.map(portAnswers))).every(Boolean);
}

/** The secured stack up (started, and stopped at exit, when it was not running). */
export function ensureSecureInfra(): Promise<void> {
  ready ??= (async () => {
    if (await running()) return;
    execFileSync('bash', [join(ROOT, 'infra', 'secure.sh'), 'start', '1'], { stdio: ['ignore', 'inherit', 'inherit'] });
    // Synchronous on purpose: mocha --exit ends the process, and 'exit' handlers cannot await.
    process.once('exit', () => {
      try { execFileSync('bash', [join(ROOT, 'infra', 'secure.sh'), 'stop'], { stdio: ['ignore', 'ignore', 'inherit'] }); } catch { /* reported by the script */ }
    });
  })();
  return ready;
}

/** `operator` (the stack's env) or a principal's environment: brokers, URLs and credential files. */
export function identity(name: string): Identity {
  return readEnvFile(join(SECURE_DIR, name === 'operator' ? 'env' : `${name}.env`));
}

/** A password of the stack, for the specs that speak a protocol by hand (Redis, HTTP). */
export const secretOf = (name: string) => readFileSync(join(SECURE_DIR, 'secrets', `${name}.password`), 'utf8').trim();

/** Polls `f` until it gives a value (every 250 ms), or fails naming `what` after `timeoutMs`. */
export async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
