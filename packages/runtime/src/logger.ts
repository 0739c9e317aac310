import { type DestinationStream, type Logger, pino } from 'pino';

/** Keys whose values are secrets (tokens, webhook secrets and signatures, user-data with tokens). */
const SECRET_KEYS = ['token', 'secret', 'authorization', 'signature', 'userData', 'user_data'] as const;

/** Paths pino blanks in every log line, at the top level and one object down, whatever the caller passes. */
export const SECRET_PATHS: readonly string[] = [
  ...SECRET_KEYS.flatMap((key) => [key, `*.${key}`]),
  'headers.authorization',
  '*.headers.authorization',
];

export interface LoggerOptions {
  /** Written into every line as `service`. */
  readonly service?: string;
  /** More paths to blank, on top of SECRET_PATHS (pino path syntax). */
  readonly redact?: readonly string[];
}

/** The one pino factory: JSON lines, secrets redacted, `level` from config. */
export function createLogger(
  level: string,
  destination?: DestinationStream,
  options: LoggerOptions = {},
): Logger {
  const settings = {
    level,
    redact: { paths: [...SECRET_PATHS, ...(options.redact ?? [])], censor: '[redacted]' },
    ...(options.service === undefined ? {} : { base: { service: options.service } }),
  };
  return destination ? pino(settings, destination) : pino(settings);
}
