// The secured stack (infra/secure.sh, `make up SECURE=1`) for the attack suite: used when it
// answers, started here otherwise and then stopped when the test process exits. Identities are
// read from the env files it writes; specs pass them to clients explicitly (never through
// process.env, which the other specs' default stack owns).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';

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
  const file = join(SECURE_DIR, name === 'operator' ? 'env' : `${name}.env`);
  return Object.fromEntries(readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** A password of the stack, for the specs that speak a protocol by hand (Redis, HTTP). */
export const secretOf = (name: string) => readFileSync(join(SECURE_DIR, 'secrets', `${name}.password`), 'utf8').trim();
