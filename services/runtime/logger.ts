// Structured NDJSON logs (pino) with one child logger per component.
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, service: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { service, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    destination ?? pino.destination({ dest: 2, sync: false }),
  );
}

export const componentLogger = (parent: Logger, component: string): Logger => parent.child({ component });
