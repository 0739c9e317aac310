import { type DestinationStream, type Logger, pino } from 'pino';

/** Paths pino blanks in every log line, whatever the caller passes. */
export const REDACT_PATHS = [
  'token',
  '*.token',
  'secret',
  '*.secret',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'signature',
  '*.signature',
  'body',
  '*.body',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'autoscaler' },
  };
  return destination ? pino(options, destination) : pino(options);
}
