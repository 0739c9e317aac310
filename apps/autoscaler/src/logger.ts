import { createLogger as createKitLogger, SECRET_PATHS } from '@forgejo-fleet/runtime';
import type { DestinationStream, Logger } from 'pino';

/** Webhook bodies can carry secrets of the repository's events; never log them whole. */
const BODY_PATHS = ['body', '*.body'];

/** Paths pino blanks in every autoscaler log line: the kit's secret paths and webhook bodies. */
export const REDACT_PATHS: readonly string[] = [...SECRET_PATHS, ...BODY_PATHS];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return createKitLogger(level, destination, { service: 'autoscaler', redact: BODY_PATHS });
}
