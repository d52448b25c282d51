// The gateway under test: started in-process (startGateway, as `solvermesh run gateway` does) or
// as a process, with tokens of a few owners, and an HTTP client that reads streams line by line.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { hashToken } from '../../../services/gateway/auth';
import { startGateway, type RunningGateway } from '../../../services/gateway';
import { ensureInfra } from '../../support/infra';
import type { Child } from '../../support/process';

export const TOKENS = { alice: 'alice-secret-token', bob: 'bob-secret-token', reader: 'reader-secret-token', admin: 'admin-secret-token' } as const;

export const tokenLines = () => [
  `alice ${hashToken(TOKENS.alice)} read,costs,open`,
  `bob ${hashToken(TOKENS.bob)} read,costs,open`,
  `reader ${hashToken(TOKENS.reader)} read`,
  `ops ${hashToken(TOKENS.admin)} admin`,
].join('\n');

export async function gatewayEnv(prefix: string, extra: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> {
  const infra = await ensureInfra();
  return {
    ...process.env, ...infra, TOPIC_PREFIX: prefix, LOG_LEVEL: 'warn', GATEWAY_PORT: '0', GATEWAY_TOKENS: tokenLines(), HTTP_PORT: '0', ...extra,
  };
}

export async function startTestGateway(prefix: string, extra: NodeJS.ProcessEnv = {}): Promise<RunningGateway> {
  return startGateway(await gatewayEnv(prefix, extra));
}

export function spawnGateway(env: NodeJS.ProcessEnv): Child & { port: Promise<number> } {
  const proc = spawn(join(__dirname, '..', '..', '..', 'bin', 'solvermesh'), ['run', 'gateway'], { env: { ...env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let found!: (p: number) => void;
  const port = new Promise<number>((r) => (found = r));
  const scan = (d: Buffer) => {
    out += d.toString();
    const m = /gateway listening on http:\/\/[^:]+:(\d+)/.exec(out);
    if (m) found(Number(m[1]));
  };
  proc.stdout!.on('data', scan);
  proc.stderr!.on('data', scan);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return { proc, output: () => out, exited, port };
}

export const bearer = (who: keyof typeof TOKENS) => ({ authorization: `Bearer ${TOKENS[who]}` });

/** A streamed response read as lines (NDJSON) or frames (SSE), until `until` or the end. */
export class StreamReader {
  readonly items: string[] = [];
  private buf = '';
  private done = false;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();

  constructor(readonly res: Response, private readonly separator = '\n') {
    this.reader = res.body!.getReader();
  }

  get ended(): boolean { return this.done; }

  /** Reads until `until(items)` holds or the stream ends; throws on timeout. */
  async readUntil(until: (items: string[]) => boolean, timeoutMs = 60_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (!until(this.items) && !this.done) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`stream: condition not met within ${timeoutMs} ms; got ${this.items.length} items, last ${this.items.at(-1)?.slice(0, 300)}`);
      const r = await Promise.race([this.reader.read(), new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), left))]);
      if (r === 'timeout') continue;
      if (r.done) { this.done = true; break; }
      this.buf += this.decoder.decode(r.value, { stream: true });
      let cut;
      while ((cut = this.buf.indexOf(this.separator)) >= 0) {
        const item = this.buf.slice(0, cut);
        this.buf = this.buf.slice(cut + this.separator.length);
        if (item.trim() !== '') this.items.push(item);
      }
    }
    return this.items;
  }

  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => undefined);
  }
}

export const json = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown> & { type: string; id?: string });

/** The seed's solve request (§2.1) for a CSR matrix. */
export function solveBody(a: { n: number; rowPtr: Int32Array; colIdx: Int32Array; values: Float64Array }, extra: Record<string, unknown> = {}) {
  return {
    matrix: { rows: a.n, cols: a.n, nnz: a.values.length, format: 'csr', data: { values: [...a.values], col_indices: [...a.colIdx], row_pointers: [...a.rowPtr] } },
    vector: Array.from({ length: a.n }, (_, i) => 1 + Math.sin(i)),
    method: 'cg',
    options: { tolerance: 1e-8, verification_interval: 5 },
    ...extra,
  };
}
