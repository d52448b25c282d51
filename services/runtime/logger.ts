// Structured NDJSON logs (pino) with one child logger per component.
import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Paths whose values never reach a log line (bearer tokens, SASL and Redis passwords, private key
 * material, signatures): at the top level, one level down (`{ config: { password } }`) and in an
 * HTTP request's headers. Censored, not removed, so a reader sees that a value was there.
 */
const SECRET_KEYS = [
  'password', 'passwd', 'secret', 'token', 'tokens', 'apiKey', 'api_key', 'authorization', 'privateKey', 'private_key', 'private_key_seed',
  'seed', 'sig', 'signature', 'saslPassword', 'sasl_password', 'sasl', 'gatewayTokens', 'redisPassword', 'redisUrl', 'credentials',
];
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_KEYS, ...SECRET_KEYS.map((k) => `*.${k}`),
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'headers.authorization',
];
export const REDACTED = '[redacted]';

export function createLogger(level: string, service: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { service, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: [...REDACT_PATHS], censor: REDACTED } },
    destination ?? pino.destination({ dest: 2, sync: false }),
  );
}

export const componentLogger = (parent: Logger, component: string): Logger => parent.child({ component });
