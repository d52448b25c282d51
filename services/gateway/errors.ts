// The gateway's errors, declared once with their HTTP status: domain and runtime codes are
// mapped to statuses here and nowhere else. Every error body is {code, message}.
import { SolvermeshError, errorMessage } from '../runtime/errors';

export const HTTP_ERRORS = {
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  GONE: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;
export type HttpErrorCode = keyof typeof HTTP_ERRORS;

export class GatewayError extends Error {
  constructor(readonly code: HttpErrorCode, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
    this.name = 'GatewayError';
  }

  get status(): number { return HTTP_ERRORS[this.code]; }
}

/** What the client sees of any error (Fastify's own, ours, the runtime's). */
export function toHttpError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof SolvermeshError) {
    if (err.retriable) return new GatewayError('UNAVAILABLE', err.message, { 'retry-after': '1' });
    if (err.code === 'VALIDATION_FAILED') return new GatewayError('BAD_REQUEST', err.message);
    if (err.code === 'OVERSIZED') return new GatewayError('PAYLOAD_TOO_LARGE', err.message);
    return new GatewayError('INTERNAL', `${err.code}: ${err.message}`);
  }
  const f = err as { statusCode?: number; code?: string; validation?: unknown; validationContext?: string; message?: string };
  switch (f.statusCode) {
    case 400: return new GatewayError('BAD_REQUEST', f.message ?? 'bad request');
    case 404: return new GatewayError('NOT_FOUND', f.message ?? 'not found');
    case 413: return new GatewayError('PAYLOAD_TOO_LARGE', f.message ?? 'request body is too large');
    case 415: return new GatewayError('UNSUPPORTED_MEDIA_TYPE', f.message ?? 'unsupported media type');
    case 429: return new GatewayError('RATE_LIMITED', f.message ?? 'rate limit exceeded');
    default: return new GatewayError('INTERNAL', errorMessage(err));
  }
}

export const ERROR_SCHEMA = {
  type: 'object',
  required: ['code', 'message'],
  properties: { code: { type: 'string', enum: Object.keys(HTTP_ERRORS) }, message: { type: 'string' } },
} as const;
