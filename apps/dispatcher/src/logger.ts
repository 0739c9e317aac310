import { createLogger as createKitLogger, SECRET_PATHS } from '@forgejo-fleet/runtime';
import type { DestinationStream, Logger } from 'pino';

/** Paths pino blanks in every dispatcher log line: the kit's secret paths (tokens, user-data, …). */
export const REDACT_PATHS: readonly string[] = SECRET_PATHS;

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return createKitLogger(level, destination, { service: 'dispatcher' });
}
