// Decode-time validation for the runner: the schema annotations and per-event rules of
// schemas/validate.ts, turned into reasons for the dead-letter header.
import type { SolvermeshEvent } from '../../schemas/generated/events';
import { DEFAULT_LIMITS, validateEvent, type ValidationLimits } from '../../schemas/validate';
import type { DecodedEvent } from './codec';
import type { EventValidator } from './runner';

export function schemaValidator(limits: ValidationLimits = DEFAULT_LIMITS): EventValidator {
  return (event: DecodedEvent) =>
    validateEvent(event as unknown as SolvermeshEvent, limits).map((i) => `${i.code} at ${i.path}: ${i.message}`);
}
