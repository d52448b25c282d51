// The gateway's own knobs, declared as data and read with the runtime's in one call
// (services/runtime/knobs.ts). Seed 000 §1.4 gives the stream defaults, §6.3 the limits.
import { readFileSync } from 'node:fs';
import { RUNTIME_KNOBS, type RuntimeConfig } from '../runtime/config';
import { SolvermeshError } from '../runtime/errors';
import { combineKnobs, readKnobs, type KnobDecls, type KnobValues } from '../runtime/knobs';
import { parseTokens, type TokenTable } from './auth';

const int = (env: string, def: number, min: number, doc: string) => ({ env, kind: 'int', default: def, min, max: 2_147_483_647, doc }) as const;

export const GATEWAY_KNOBS = {
  gatewayPort: { env: 'GATEWAY_PORT', kind: 'int', default: 3000, min: 0, max: 65535, doc: 'HTTP port of the API, the live page and /metrics (0 = any free port).' },
  gatewayHost: { env: 'GATEWAY_HOST', kind: 'string', default: '127.0.0.1', doc: 'Interface the gateway listens on.' },
  gatewayTokens: { env: 'GATEWAY_TOKENS', kind: 'string', default: '', doc: 'Bearer tokens, one per line: `<subject> <sha256 hex of the token> <scopes>`, scopes from read, costs, open, admin (make a hash with `printf %s "$TOKEN" | sha256sum`).' },
  gatewayTokensFile: { env: 'GATEWAY_TOKENS_FILE', kind: 'string', default: '', doc: 'A file of token lines as in `GATEWAY_TOKENS` (both may be given).' },
  gatewayRedisPrefix: { env: 'GATEWAY_REDIS_PREFIX', kind: 'string', default: '', defaultDoc: '(TOPIC_PREFIX)', doc: 'Namespace of the rate-limit counters in Redis; instances with the same one share their counts.' },
  gatewayBodyLimitBytes: int('GATEWAY_BODY_LIMIT_BYTES', 50 * 1024 * 1024, 1, 'Largest JSON request body (seed 000 §4.1: 50 MB for large matrices); more is 413.'),
  gatewayNdjsonLineLimitBytes: int('GATEWAY_NDJSON_LINE_LIMIT_BYTES', 1024 * 1024, 1, 'Largest line of an NDJSON cost stream, and of a WebSocket message.'),
  gatewayMaxStreams: int('GATEWAY_MAX_STREAMS', 10_000, 1, 'Streams (HTTP and WebSocket) one instance holds; more get 503.'),
  gatewayStreamBufferBytes: int('GATEWAY_STREAM_BUFFER_BYTES', 256 * 1024, 1, 'Bytes of events a stream may have waiting for a client that does not read (HTTP: beyond what the socket took; WebSocket: bufferedAmount).'),
  gatewaySlowClientMs: int('GATEWAY_SLOW_CLIENT_MS', 10_000, 1, 'A stream that stays over `GATEWAY_STREAM_BUFFER_BYTES` this long is closed as too slow, with the reason and its resume id.'),
  gatewayPingMs: int('GATEWAY_PING_MS', 15_000, 1, 'Keep-alive ping on an idle stream (seed 000 §1.4 heartbeatInterval).'),
  gatewayMaxStreamMs: int('GATEWAY_MAX_STREAM_MS', 3_600_000, 1, 'Longest a stream stays open (seed 000 §1.4 maxSessionDuration).'),
  gatewayDrainMs: int('GATEWAY_DRAIN_MS', 30_000, 0, 'On SIGTERM, how long open streams may take to finish before they are closed (seed 000 §1.4 gracefulShutdown).'),
  gatewayHistoryEvents: int('GATEWAY_HISTORY_EVENTS', 10_000, 1, 'Events kept per session for resume and late subscribers; a resume from before them is 410.'),
  gatewayRateTokenMax: int('GATEWAY_RATE_TOKEN_MAX', 1000, 1, 'Requests per token per window (seed 000 §6.3 user.requests).'),
  gatewayRateIpMax: int('GATEWAY_RATE_IP_MAX', 300, 1, 'Requests per client IP per window (seed 000 §6.3 ip.requests, scaled to the window).'),
  gatewayRateWindowMs: int('GATEWAY_RATE_WINDOW_MS', 60_000, 1, 'Rate limit window; the counters live in Redis, shared by every instance.'),
  gatewayMcpAllowedHosts: { env: 'GATEWAY_MCP_ALLOWED_HOSTS', kind: 'list', default: ['localhost', '127.0.0.1', '[::1]'], item: { pattern: /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)$/, name: 'host name' }, doc: 'Host names /mcp answers on: a request whose Host (or Origin) names another is refused 403, against DNS rebinding. Add the names clients use when the gateway listens beyond localhost.' },
  gatewayMcpAllowedOrigins: { env: 'GATEWAY_MCP_ALLOWED_ORIGINS', kind: 'list', default: [], item: { pattern: /^https?:\/\/[^\s/]+$/, name: 'origin (scheme://host[:port])' }, doc: 'Browser origins allowed to call /mcp besides those on a `GATEWAY_MCP_ALLOWED_HOSTS` name; requests without an Origin (non-browser clients) are not affected.' },
} as const satisfies KnobDecls;

export type GatewayKnobs = KnobValues<typeof GATEWAY_KNOBS>;

export interface GatewayConfig {
  readonly runtime: RuntimeConfig;
  readonly knobs: GatewayKnobs;
  readonly tokens: TokenTable;
  readonly redisPrefix: string;
}

/** The runtime's and the gateway's knobs in one read, then the tokens they name. */
export function loadGatewayConfig(env?: NodeJS.ProcessEnv): GatewayConfig {
  const all = readKnobs(combineKnobs(RUNTIME_KNOBS, GATEWAY_KNOBS), env);
  const problems: string[] = [];
  let text = all.gatewayTokens;
  if (all.gatewayTokensFile) {
    try { text += `\n${readFileSync(all.gatewayTokensFile, 'utf8')}`; } catch (err) { problems.push(`GATEWAY_TOKENS_FILE=${all.gatewayTokensFile} cannot be read: ${(err as Error).message}`); }
  }
  let tokens: TokenTable = new Map();
  try { tokens = parseTokens(text); } catch (err) { problems.push(`GATEWAY_TOKENS: ${(err as Error).message}`); }
  if (tokens.size === 0 && problems.length === 0) problems.push('no bearer tokens: set GATEWAY_TOKENS or GATEWAY_TOKENS_FILE to lines "<subject> <sha256 hex of the token> <scopes>" (make a hash with: printf %s "$TOKEN" | sha256sum)');
  if (problems.length > 0) throw new SolvermeshError('CONFIG_INVALID', `invalid gateway configuration:\n  - ${problems.join('\n  - ')}`);
  return { runtime: all, knobs: all, tokens, redisPrefix: all.gatewayRedisPrefix || all.topicPrefix };
}
