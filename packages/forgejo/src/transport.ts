import {
  backoffMs,
  isRetryableStatus,
  parseRetryAfter,
  type RetryOptions,
  retryDelayMs,
  retryPolicy,
  systemClock,
} from '@forgejo-fleet/runtime';
import { type Dispatcher, request } from 'undici';
import type { z } from 'zod';
import { describeErrorBody } from './error-body.js';
import { ForgejoApiError, ForgejoNetworkError, ForgejoResponseError } from './errors.js';
import { DEFAULT_RETRY, isConnectError, isUnprocessedStatus } from './retry-policy.js';
import { describeIssues } from './validation.js';

export type RequestEvent = {
  method: string;
  /** API path without query string, e.g. `/api/v1/admin/actions/runners`. */
  path: string;
  status: number | 'error';
  attempt: number;
  ms: number;
};

export type TransportOptions = {
  /** Base URL of the Forgejo server (e.g. `https://git.example/`); `/api/v1` is appended. */
  apiUrl: string;
  /** Personal access token, sent as `Authorization: token <T>`. Never logged or put into errors. */
  token: string;
  dispatcher?: Dispatcher;
  /** Per attempt, headers and body together. Default 10 000. */
  timeoutMs?: number;
  retry?: RetryOptions;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  onRequest?: (event: RequestEvent) => void;
  userAgent?: string;
};

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export type RequestSpec<T> = {
  method: Method;
  /** Path below `/api/v1`, already encoded, e.g. `/orgs/acme/hooks`. */
  path: string;
  query?: Readonly<Record<string, string>>;
  body?: unknown;
  /** Validates a 2xx body; without it the body is ignored. */
  schema?: z.ZodType<T>;
  /** Answer 404 as `{ notFound: true }` instead of throwing. */
  allowNotFound?: boolean;
  signal?: AbortSignal | undefined;
};

export type Reply<T> =
  | { notFound: false; status: number; data: T; header: (name: string) => string | undefined }
  | { notFound: true; status: 404 };

export type Transport = { send<T = undefined>(spec: RequestSpec<T>): Promise<Reply<T>> };

const API_PREFIX = '/api/v1';
const DEFAULT_TIMEOUT_MS = 10_000;
const IDEMPOTENT: ReadonlySet<Method> = new Set(['GET', 'PATCH', 'DELETE']);

/** Marks the per-attempt timer's abort, to tell a timeout from the caller's abort. */
class AttemptTimeout extends Error {}

type RawResponse = { status: number; headers: Dispatcher.ResponseData['headers']; text: string };

/**
 * One HTTP exchange with Forgejo: auth, per-attempt timeout, retries with backoff (see
 * retry-policy.ts for the rule), error mapping and response validation.
 */
export function createTransport(opts: TransportOptions): Transport {
  const base = apiBase(opts.apiUrl);
  checkToken(opts.token);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new RangeError('timeoutMs must be > 0');
  const retry = retryPolicy(opts.retry, DEFAULT_RETRY);
  const sleep = opts.sleep ?? systemClock.sleep;
  const random = opts.random ?? Math.random;
  const headers: Record<string, string> = {
    authorization: `token ${opts.token}`,
    accept: 'application/json',
    'user-agent': opts.userAgent ?? 'forgejo-fleet',
  };
  const redact = (text: string): string => text.split(opts.token).join('[REDACTED]');

  function emit(event: RequestEvent): void {
    try {
      opts.onRequest?.(event);
    } catch {
      // An observer must not break requests.
    }
  }

  async function attemptOnce(spec: RequestSpec<unknown>, url: string): Promise<RawResponse> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new AttemptTimeout()), timeoutMs);
    const signal = spec.signal ? AbortSignal.any([spec.signal, timeout.signal]) : timeout.signal;
    const hasBody = spec.body !== undefined;
    try {
      const res = await request(url, {
        method: spec.method,
        headers: hasBody ? { ...headers, 'content-type': 'application/json' } : headers,
        ...(hasBody ? { body: JSON.stringify(spec.body) } : {}),
        ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
        signal,
      });
      const text = await res.body.text();
      return { status: res.statusCode, headers: res.headers, text };
    } catch (err) {
      if (spec.signal?.aborted) throw spec.signal.reason;
      if (timeout.signal.aborted) throw new AttemptTimeout(`timed out after ${timeoutMs}ms`);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  async function send<T>(spec: RequestSpec<T>): Promise<Reply<T>> {
    const path = `${API_PREFIX}${spec.path}`;
    const query = spec.query ? new URLSearchParams(spec.query).toString() : '';
    const url = `${base}${spec.path}${query === '' ? '' : `?${query}`}`;
    const idempotent = IDEMPOTENT.has(spec.method);
    for (let attempt = 1; ; attempt++) {
      spec.signal?.throwIfAborted();
      const started = performance.now();
      let raw: RawResponse;
      try {
        raw = await attemptOnce(spec, url);
      } catch (err) {
        if (spec.signal?.aborted) throw spec.signal.reason;
        emit({ method: spec.method, path, status: 'error', attempt, ms: elapsed(started) });
        const canRetry = idempotent || (!(err instanceof AttemptTimeout) && isConnectError(err));
        if (canRetry && attempt < retry.attempts) {
          await sleep(backoffMs(attempt, retry, random), spec.signal);
          continue;
        }
        const note = canRetry ? '' : ' (not retried: the request may have reached Forgejo)';
        throw new ForgejoNetworkError({
          method: spec.method,
          path,
          detail: `${redact(networkDetail(err))}${note}`,
          cause: err instanceof AttemptTimeout ? err : sanitize(err, opts.token, redact),
        });
      }
      emit({ method: spec.method, path, status: raw.status, attempt, ms: elapsed(started) });
      const header = (name: string): string | undefined => firstHeader(raw.headers, name);

      if (raw.status >= 200 && raw.status < 300) {
        return { notFound: false, status: raw.status, data: parseBody(spec, raw, path), header };
      }
      if (raw.status === 404 && spec.allowNotFound) return { notFound: true, status: 404 };

      const retryable = isRetryableStatus(raw.status);
      const error = new ForgejoApiError({
        status: raw.status,
        forgejoMessage: redact(statusMessage(raw, header)),
        method: spec.method,
        path,
        retryable,
      });
      const canRetry = retryable && (idempotent || isUnprocessedStatus(raw.status));
      if (!canRetry || attempt >= retry.attempts) throw error;
      const retryAfter = parseRetryAfter(header('retry-after'), Date.now());
      await sleep(retryDelayMs(attempt, retry, random, retryAfter), spec.signal);
    }
  }

  function parseBody<T>(spec: RequestSpec<T>, raw: RawResponse, path: string): T {
    if (!spec.schema) return undefined as T;
    const fail = (problem: string): ForgejoResponseError =>
      new ForgejoResponseError({ status: raw.status, problem: redact(problem), method: spec.method, path });
    let json: unknown;
    try {
      json = JSON.parse(raw.text);
    } catch {
      const type = firstHeader(raw.headers, 'content-type') ?? 'no content-type';
      throw fail(`response.body: not JSON (${type}): ${describeErrorBody(raw.text, type)}`);
    }
    const parsed = spec.schema.safeParse(json);
    if (!parsed.success) throw fail(describeIssues('response.body', parsed.error.issues));
    return parsed.data;
  }

  return { send };
}

function statusMessage(raw: RawResponse, header: (name: string) => string | undefined): string {
  if (raw.status >= 300 && raw.status < 400) {
    return `redirected to ${header('location') ?? '(no location)'}; check apiUrl`;
  }
  return describeErrorBody(raw.text, header('content-type'));
}

function apiBase(apiUrl: string): string {
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new TypeError(`apiUrl ${JSON.stringify(apiUrl)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`apiUrl must be http(s), got ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new TypeError('apiUrl must not contain credentials, a query or a fragment');
  }
  const pathname = url.pathname.replace(/\/+$/, '');
  if (pathname.endsWith(API_PREFIX)) {
    throw new TypeError(`apiUrl is the server's base URL; drop the trailing ${API_PREFIX}`);
  }
  return `${url.origin}${pathname}${API_PREFIX}`;
}

function checkToken(token: string): void {
  // Never echo the token: a header with control characters would make undici throw with its value.
  if (token === '' || /[\s\p{Cc}]/u.test(token)) {
    throw new TypeError('token must be non-empty and contain no whitespace or control characters');
  }
}

function firstHeader(headers: RawResponse['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function networkDetail(err: unknown): string {
  if (err instanceof AttemptTimeout) return err.message;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const message = err.message || err.name;
    return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
  }
  return String(err);
}

/** Keeps the cause unless its message mentions the token (e.g. undici's mock "not matched" errors). */
function sanitize(err: unknown, token: string, redact: (text: string) => string): unknown {
  if (!(err instanceof Error) || !`${err.message}${err.stack ?? ''}`.includes(token)) return err;
  const clean = new Error(redact(err.message));
  clean.name = err.name;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') Object.assign(clean, { code });
  return clean;
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
