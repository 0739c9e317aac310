/**
 * Errors thrown by the Forgejo client. None of them carries the token: messages are built from
 * the method, the API path (no query) and Forgejo's message with the token redacted.
 */

/** Forgejo (or a proxy in front of it) answered with a status we do not accept. */
export class ForgejoApiError extends Error {
  override readonly name: string = 'ForgejoApiError';
  readonly status: number;
  /** Forgejo's `message`, or a short excerpt of a non-JSON body (e.g. a proxy's HTML page). */
  readonly forgejoMessage: string;
  readonly method: string;
  /** API path without query string, e.g. `/api/v1/orgs/acme/actions/runners`. */
  readonly path: string;
  /** True for statuses worth retrying later (408, 429, 5xx except 501/505). */
  readonly retryable: boolean;

  constructor(opts: {
    status: number;
    forgejoMessage: string;
    method: string;
    path: string;
    retryable: boolean;
    message?: string;
  }) {
    super(opts.message ?? `${opts.method} ${opts.path}: ${opts.status} ${opts.forgejoMessage}`);
    this.status = opts.status;
    this.forgejoMessage = opts.forgejoMessage;
    this.method = opts.method;
    this.path = opts.path;
    this.retryable = opts.retryable;
  }
}

/**
 * The request succeeded but the body is not what the API promises (validation failed or not JSON).
 * `forgejoMessage` names the field, e.g. `response.body[0].handle: expected string, received undefined`.
 * Never retried: asking again gives the same answer.
 */
export class ForgejoResponseError extends ForgejoApiError {
  override readonly name: string = 'ForgejoResponseError';

  constructor(opts: { status: number; problem: string; method: string; path: string }) {
    super({
      status: opts.status,
      forgejoMessage: opts.problem,
      method: opts.method,
      path: opts.path,
      retryable: false,
      message: `${opts.method} ${opts.path}: ${opts.status} unexpected response: ${opts.problem}`,
    });
  }
}

/** No HTTP answer: connection refused/reset, DNS failure, or the attempt timed out. */
export class ForgejoNetworkError extends Error {
  override readonly name: string = 'ForgejoNetworkError';
  readonly method: string;
  readonly path: string;
  readonly retryable = true as const;

  constructor(opts: { method: string; path: string; detail: string; cause: unknown }) {
    super(`${opts.method} ${opts.path}: ${opts.detail}`, { cause: opts.cause });
    this.method = opts.method;
    this.path = opts.path;
  }
}
