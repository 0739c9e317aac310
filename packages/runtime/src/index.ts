export { abortError, isAbortError, throwIfAborted } from './abort.js';
export { type Clock, sleepUnlessAborted, systemClock } from './clock.js';
export { createLimiter, type Limiter } from './limiter.js';
export { ListenError, listenError } from './listen-error.js';
export { createLogger, type LoggerOptions, SECRET_PATHS } from './logger.js';
export { every, type Loop, type LoopOptions } from './loop.js';
export { packageVersion } from './package-version.js';
export { type ProcessProbe, processRunning } from './process-running.js';
export {
  isInteractive,
  type Progress,
  type ProgressOptions,
  type ProgressStream,
  progress,
} from './progress.js';
export {
  backoffMs,
  isRetryableStatus,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  type RetryOptions,
  type RetryPolicy,
  retryDelayMs,
  retryPolicy,
} from './retry.js';
export {
  type CommandLineIo,
  EXIT_USAGE,
  parseServiceCommandLine,
  type ServiceCommand,
} from './service-command-line.js';
export { type FieldError, fieldErrors, formatZodPath } from './zod-path.js';
