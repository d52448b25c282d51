// One error hierarchy for the whole system. Every error carries a stable code and says whether
// retrying can help; the runner retries only retriable errors and dead-letters the rest.
import type { Emit } from './processor';

export const ERROR_CODES = [
  'CONFIG_INVALID',
  'DECODE_FAILED',
  'UNKNOWN_SCHEMA_ID',
  'UNKNOWN_EVENT_TYPE',
  'VALIDATION_FAILED',
  'MIS_KEYED',
  'EVENT_TIME_SKEW',
  'OVERSIZED',
  'AMPLIFICATION',
  'REJECTED',
  'UNSIGNED',
  'UNKNOWN_KEY',
  'KEY_EXPIRED',
  'FORGED',
  'REPLAYED',
  'THROTTLED',
  'PAYLOAD_HASH_MISMATCH',
  'REGISTRY_UNAVAILABLE',
  'KAFKA_UNAVAILABLE',
  'STORE_UNAVAILABLE',
  'HANDLER_FAILED',
  'TIMEOUT',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class SolvermeshError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, opts: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SolvermeshError';
    this.code = code;
    this.retriable = opts.retriable ?? false;
  }
}

/** The record itself is bad: retrying cannot help, it goes to the dead-letter topic. */
export const poison = (code: ErrorCode, message: string, cause?: unknown) =>
  new SolvermeshError(code, message, { retriable: false, cause });

/**
 * A record refused on purpose (a forged or replayed message): dead-lettered like poison, and
 * `emits` (the report of it) are produced in the same transaction.
 */
export class RecordRefused extends SolvermeshError {
  constructor(code: ErrorCode, message: string, readonly emits: readonly Emit[]) {
    super(code, message, { retriable: false });
    this.name = 'RecordRefused';
  }
}

/** A dependency is down or slow: retry (bounded), never dead-letter. */
export const transient = (code: ErrorCode, message: string, cause?: unknown) =>
  new SolvermeshError(code, message, { retriable: true, cause });

export function isRetriable(err: unknown): boolean {
  if (err instanceof SolvermeshError) return err.retriable;
  // kafkajs and ioredis errors mark themselves; anything else is treated as a bug, not retried.
  return typeof err === 'object' && err !== null && (err as { retriable?: unknown }).retriable === true;
}

export function errorCode(err: unknown): string {
  if (err instanceof SolvermeshError) return err.code;
  if (err instanceof Error) return err.name;
  return 'UNKNOWN';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The default of an exhaustive switch: the compiler proves it is never reached. Should a value
 * outside the union come at run time anyway (a bug), the record goes to the dead-letter topic
 * naming it, rather than being passed over.
 */
export function unreachable(value: never): never {
  const v = value as unknown;
  const what = typeof v === 'object' && v !== null && 'type' in v ? `event type ${String(v.type)}` : `value ${String(v)}`;
  throw poison('HANDLER_FAILED', `unreachable: no case for ${what}`);
}
