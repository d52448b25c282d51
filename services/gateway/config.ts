// The gateway's own knobs, declared as data (env name, default, doc) and read by one function
// that reports every problem at once. Seed 000 §1.4 gives the stream defaults, §6.3 the limits.
import { readFileSync } from 'node:fs';
import { SolvermeshError } from '../runtime/errors';
import { parseTokens, type TokenTable } from './auth';

interface Knob {
  readonly env: string;
  readonly default: number;
  readonly doc: string;
  readonly min?: number;
}

export const GATEWAY_KNOBS = [
  { env: 'GATEWAY_PORT', default: 3000, min: 0, doc: 'HTTP port of the API, the live page and /metrics (0 = any free port).' },
  { env: 'GATEWAY_BODY_LIMIT_BYTES', default: 50 * 1024 * 1024, doc: 'Largest JSON request body (seed 000 §4.1: 50 MB for large matrices); more is 413.' },
  { env: 'GATEWAY_NDJSON_LINE_LIMIT_BYTES', default: 1024 * 1024, doc: 'Largest line of an NDJSON cost stream.' },
  { env: 'GATEWAY_MAX_STREAMS', default: 10_000, doc: 'Streams (HTTP and WebSocket) one instance holds; more get 503.' },
  { env: 'GATEWAY_STREAM_BUFFER_BYTES', default: 256 * 1024, doc: 'Bytes a stream may have queued for a client that does not read; past it the client is closed as too slow.' },
  { env: 'GATEWAY_PING_MS', default: 15_000, doc: 'Keep-alive ping on an idle stream (seed 000 §1.4 heartbeatInterval).' },
  { env: 'GATEWAY_MAX_STREAM_MS', default: 3_600_000, doc: 'Longest a stream stays open (seed 000 §1.4 maxSessionDuration).' },
  { env: 'GATEWAY_DRAIN_MS', default: 30_000, doc: 'On SIGTERM, how long open streams may take to finish before they are closed (seed 000 §1.4 gracefulShutdown).' },
  { env: 'GATEWAY_HISTORY_EVENTS', default: 10_000, doc: 'Events kept per session for resume and late subscribers; older ones are read from the log.' },
  { env: 'GATEWAY_RATE_TOKEN_MAX', default: 1000, doc: 'Requests per token per window (seed 000 §6.3 user.requests).' },
  { env: 'GATEWAY_RATE_IP_MAX', default: 300, doc: 'Requests per client IP per window (seed 000 §6.3 ip.requests, scaled to the window).' },
  { env: 'GATEWAY_RATE_WINDOW_MS', default: 60_000, doc: 'Rate limit window; counters live in Redis, shared by every instance.' },
] as const satisfies readonly Knob[];

export type GatewayKnob = (typeof GATEWAY_KNOBS)[number]['env'];

export interface GatewayConfig {
  readonly knobs: Readonly<Record<GatewayKnob, number>>;
  readonly host: string;
  readonly tokens: TokenTable;
}

/**
 * Tokens: GATEWAY_TOKENS (inline) or GATEWAY_TOKENS_FILE, one per line
 * `<subject> <sha256 hex of the token> <scope,scope>`; scopes read, costs, open, admin.
 * GATEWAY_HOST (default 127.0.0.1) is the interface; GATEWAY_REDIS_PREFIX (default TOPIC_PREFIX)
 * namespaces the rate-limit counters, shared by every instance with the same one.
 */
export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const problems: string[] = [];
  const knobs = {} as Record<GatewayKnob, number>;
  for (const k of GATEWAY_KNOBS as readonly Knob[]) {
    const raw = env[k.env];
    let v = k.default;
    if (raw !== undefined && raw.trim() !== '') {
      v = Number(raw);
      if (!Number.isInteger(v) || v < (k.min ?? 1)) { problems.push(`${k.env}=${JSON.stringify(raw)} must be an integer >= ${k.min ?? 1} (${k.doc}); e.g. ${k.default}`); v = k.default; }
    }
    knobs[k.env as GatewayKnob] = v;
  }
  let text = env.GATEWAY_TOKENS ?? '';
  if (env.GATEWAY_TOKENS_FILE) {
    try { text += `\n${readFileSync(env.GATEWAY_TOKENS_FILE, 'utf8')}`; } catch (err) { problems.push(`GATEWAY_TOKENS_FILE=${env.GATEWAY_TOKENS_FILE} cannot be read: ${(err as Error).message}`); }
  }
  let tokens: TokenTable = new Map();
  try { tokens = parseTokens(text); } catch (err) { problems.push((err as Error).message); }
  if (tokens.size === 0 && problems.length === 0) problems.push('no bearer tokens: set GATEWAY_TOKENS or GATEWAY_TOKENS_FILE to lines "<subject> <sha256 hex of the token> <scopes>" (make one with: printf %s "$TOKEN" | sha256sum)');
  if (problems.length > 0) throw new SolvermeshError('CONFIG_INVALID', `invalid gateway configuration:\n  - ${problems.join('\n  - ')}`);
  return { knobs, host: (env.GATEWAY_HOST ?? '').trim() || '127.0.0.1', tokens };
}
