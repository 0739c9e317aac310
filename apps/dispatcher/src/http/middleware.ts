import type { ErrorHandler, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import { ServiceError } from '../service/errors.js';
import type { AppEnv } from './env.js';
import { ApiError, fromServiceError } from './errors.js';

/** A request id (also the `X-Request-Id` header) and a child logger carrying it. */
export function requestContext(deps: {
  readonly log: Logger;
  readonly newRequestId: () => string;
}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const requestId = deps.newRequestId();
    c.set('requestId', requestId);
    c.set('log', deps.log.child({ requestId }));
    c.header('X-Request-Id', requestId);
    await next();
  };
}

/** Maps every error to `{ error: { code, message, details? } }` and its status, once. */
export function apiErrorHandler(log: Logger): ErrorHandler<AppEnv> {
  return (error, c) => {
    const apiError = toApiError(error);
    if (apiError.code === 'internal') {
      (c.get('log') ?? log).error({ err: error.message }, 'unhandled error');
    }
    if (error.name === 'StoreUnavailableError')
      (c.get('log') ?? log).warn({ err: error.message }, 'store write failed');
    if (apiError.retryAfter !== undefined) c.header('Retry-After', String(apiError.retryAfter));
    return c.json(apiError.body(), apiError.status);
  };
}

export function notFound(): never {
  throw new ApiError('not_found', 'no such endpoint');
}

function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ServiceError) return fromServiceError(error);
  if (error instanceof HTTPException) {
    return new ApiError(error.status === 413 ? 'payload_too_large' : 'bad_request', error.message);
  }
  if (error instanceof Error && error.name === 'InvalidCursorError') {
    return new ApiError('bad_request', error.message, {
      details: [{ path: 'cursor', message: error.message }],
    });
  }
  // Disk full, I/O error, read-only: nothing was written and a retry may succeed (store/errors.ts).
  if (error instanceof Error && error.name === 'StoreUnavailableError') {
    return new ApiError('unavailable', 'the store cannot take writes right now; retry later', {
      retryAfter: 5,
    });
  }
  return new ApiError('internal', 'internal error');
}
