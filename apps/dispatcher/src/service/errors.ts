import { ProviderError, type ProviderErrorClass } from '@forgejo-fleet/providers';

export function errorSummary(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An error a provider did not classify (a bug, a crash in a script) is treated as transient. */
export function errorClass(error: unknown): ProviderErrorClass {
  return error instanceof ProviderError ? error.class : 'transient';
}

/**
 * Why the service refused a request, in its own words: the HTTP layer (`http/errors.ts`) maps
 * each code to a status and body, so the service knows nothing of HTTP. The codes double as the
 * `reason` label of the refusal metric.
 */
export type RefusalCode =
  | 'invalid'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'no_route'
  | 'limit_reached'
  | 'unavailable';

export class ServiceError extends Error {
  override readonly name: string = 'ServiceError';
  readonly code: RefusalCode;
  /** Structured context for the caller (the field at fault, the cap reached, the routes). */
  readonly details: unknown;
  /** Seconds after which the same request may succeed (limits, outages). */
  readonly retryAfter: number | undefined;

  constructor(code: RefusalCode, message: string, options: { details?: unknown; retryAfter?: number } = {}) {
    super(message);
    this.code = code;
    this.details = options.details;
    this.retryAfter = options.retryAfter;
  }
}

/** The request names something that is not valid here (a scope's syntax, an unconfigured scope). */
export class Invalid extends ServiceError {
  override readonly name = 'Invalid';
  constructor(message: string, details?: unknown) {
    super('invalid', message, details === undefined ? {} : { details });
  }
}

/** The caller may not act on this scope. */
export class Forbidden extends ServiceError {
  override readonly name = 'Forbidden';
  constructor(message: string) {
    super('forbidden', message);
  }
}

/** No such thing, or one the caller may not see (the two look the same on purpose). */
export class NotFound extends ServiceError {
  override readonly name = 'NotFound';
  constructor(message: string) {
    super('not_found', message);
  }
}

/** The request contradicts what is already recorded (a handle dispatched elsewhere, an ended dispatch). */
export class Conflict extends ServiceError {
  override readonly name = 'Conflict';
  constructor(message: string, details?: unknown) {
    super('conflict', message, details === undefined ? {} : { details });
  }
}

/** No configured route takes the request's labels. */
export class NoRoute extends ServiceError {
  override readonly name = 'NoRoute';
  constructor(message: string, details: unknown) {
    super('no_route', message, { details });
  }
}

/** A VM limit or a daily budget is reached; it may pass again after `retryAfter` seconds. */
export class LimitReached extends ServiceError {
  override readonly name = 'LimitReached';
  constructor(message: string, options: { retryAfter: number; details: unknown }) {
    super('limit_reached', message, options);
  }
}

/** The service cannot take the request now (shutting down, every provider failing). */
export class Unavailable extends ServiceError {
  override readonly name = 'Unavailable';
  constructor(message: string, options: { retryAfter: number }) {
    super('unavailable', message, options);
  }
}
