import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { RefusalCode, ServiceError } from '../service/errors.js';

export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'no_route'
  | 'limit_reached'
  | 'unavailable'
  | 'internal';

const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  no_route: 422,
  limit_reached: 429,
  unavailable: 503,
  internal: 500,
};

/** An error the API answers with `{ error: { code, message, details? } }` and its status. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: ErrorCode;
  readonly details: unknown;
  /** Seconds, for 429 and 503. */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message: string, options: { details?: unknown; retryAfter?: number } = {}) {
    super(message);
    this.code = code;
    this.details = options.details;
    this.retryAfter = options.retryAfter;
  }

  get status(): ContentfulStatusCode {
    return STATUS[this.code];
  }

  body(): { error: { code: ErrorCode; message: string; details?: unknown } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

/** The service's refusal codes in the API's words (only `invalid` is named differently on the wire). */
const SERVICE_CODE: Record<RefusalCode, ErrorCode> = {
  invalid: 'bad_request',
  forbidden: 'forbidden',
  not_found: 'not_found',
  conflict: 'conflict',
  no_route: 'no_route',
  limit_reached: 'limit_reached',
  unavailable: 'unavailable',
};

/** A service refusal as the API answers it: same message, details and Retry-After. */
export function fromServiceError(error: ServiceError): ApiError {
  return new ApiError(SERVICE_CODE[error.code], error.message, {
    ...(error.details === undefined ? {} : { details: error.details }),
    ...(error.retryAfter === undefined ? {} : { retryAfter: error.retryAfter }),
  });
}
