// `make demo`, gateway part (seed 000 §1, §9.1): the solver and the gateway as their own
// processes, the gateway's URL and live page, then curl opening a session (the seed's §9.1 system,
// corrected) and streaming it as NDJSON to convergence, its lines shown as they arrive.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { hashToken } from '../gateway/auth';
import { say } from './conflicts';
import { startService, type ServiceProcess } from './service-process';

const SESSION = {
  matrix: { rows: 3, cols: 3, format: 'csr', data: { values: [2, -1, -1, 2, -1, -1, 2], col_indices: [0, 1, 0, 1, 2, 1, 2], row_pointers: [0, 2, 5, 7] } },
  vector: [1, 2, 3],
  method: 'hybrid',
  options: { tolerance: 1e-8, verification_interval: 1 },
};
const SHOWN_CHARS = 160;

const quote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);

/** Runs curl, handing each line of its output to `onLine`; resolves with its exit code. */
function curl(args: string[], onLine: (line: string) => void): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const proc = spawn('curl', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let rest = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      lines.filter((l) => l.trim() !== '').forEach(onLine);
    });
    proc.on('error', (err) => reject(new Error(`curl: ${err.message} (make deps installs curl)`)));
    proc.on('close', (code) => { if (rest.trim()) onLine(rest); resolve(code); });
  });
}

async function stopAll(services: ServiceProcess[]): Promise<Array<number | null>> {
  return Promise.all(services.map((s) => s.stop()));
}

export async function runGatewayDemo(): Promise<void> {
  // A token for this run only, configured hashed as an operator would (GATEWAY_TOKENS).
  const token = randomBytes(18).toString('base64url');
  say('== starting the solver and the gateway (solvermesh run solver, solvermesh run gateway)');
  const solver = startService('solver', { LOG_LEVEL: 'warn' });
  const gateway = startService('gateway', { LOG_LEVEL: 'info', GATEWAY_PORT: '0', GATEWAY_TOKENS: `demo ${hashToken(token)} read,costs,open` });
  const lines: Array<{ type?: string; reason?: string }> = [];
  let code: number | null;
  try {
    const [, url] = await gateway.waitForLog(/gateway listening on (http:\/\/\S+?:\d+)/, 90_000);
    say(`== gateway at ${url}: live page ${url}/#token=${token}, OpenAPI ${url}/api/v1/openapi.json`);
    const args = ['-sS', '-N', '--max-time', '120', '-H', `Authorization: Bearer ${token}`, '-H', 'Content-Type: application/json', `${url}/api/v1/solve-stream`, '-d', JSON.stringify(SESSION)];
    say(`== ${['curl', ...args].map(quote).join(' ')}`);
    code = await curl(args, (line) => {
      try { lines.push(JSON.parse(line) as { type?: string }); } catch { lines.push({}); }
      say(`  ${line.length > SHOWN_CHARS ? `${line.slice(0, SHOWN_CHARS)}...` : line}`);
    });
  } catch (err) {
    await stopAll([gateway, solver]);
    throw err;
  }
  const [gatewayCode, solverCode] = await stopAll([gateway, solver]);
  say(`== gateway and solver drained and exited with codes ${gatewayCode} and ${solverCode}`);
  const last = lines.at(-1);
  if (code !== 0 || lines[0]?.type !== 'session_accepted' || last?.type !== 'stream_closed' || last.reason !== 'ConvergenceReached' || gatewayCode !== 0 || solverCode !== 0) {
    process.stderr.write(`${gateway.log().slice(-3000)}\n${solver.log().slice(-2000)}\n`);
    throw new Error(`gateway demo incomplete: curl exit ${code}, stream ${lines[0]?.type ?? 'empty'} .. ${last?.type}${last?.reason ? ` (${last.reason})` : ''}, gateway exit ${gatewayCode}, solver exit ${solverCode}`);
  }
}
