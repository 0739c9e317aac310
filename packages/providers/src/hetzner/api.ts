import { type Clock, isAbortError, throwIfAborted } from '@forgejo-fleet/runtime';
import { type Dispatcher, request } from 'undici';
import type { z } from 'zod';
import { HcloudApiError, HcloudNetworkError, HcloudProtocolError } from './errors.js';
import { type RateLimiter, rateLimitHeaders } from './rate-limiter.js';
import { ErrorBody } from './schema.js';

/** Per request; the fleeting plugin uses 15 s as well. */
const TIMEOUT_MS = 15_000;
/** 429s are waited out this often (the limiter waits for the next token), then reported. */
const RATE_LIMIT_ATTEMPTS = 3;
/** Retries of idempotent calls (GET, PUT, DELETE) that failed transiently. */
const READ_RETRIES = 2;
const RETRY_BASE_MS = 1_000;

export type Query = Readonly<Record<string, string | number | readonly (string | number)[] | undefined>>;

export interface CallOptions {
  readonly query?: Query;
  readonly body?: unknown;
  readonly signal?: AbortSignal | undefined;
}

export interface HcloudApi {
  call<S extends z.ZodType>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    schema: S,
    options?: CallOptions,
  ): Promise<z.output<S>>;
}

function url(endpoint: string, path: string, query: Query | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) params.append(key, String(item));
  }
  const text = params.toString();
  return `${endpoint.replace(/\/+$/, '')}${path}${text === '' ? '' : `?${text}`}`;
}

function retryable(error: unknown): boolean {
  if (error instanceof HcloudNetworkError) return true;
  return (
    error instanceof HcloudApiError &&
    (error.status >= 500 || ['conflict', 'locked', 'timeout'].includes(error.code))
  );
}

/**
 * A minimal Hetzner Cloud API client on undici: bearer auth, every request through the
 * project's rate limiter, error bodies turned into HcloudApiError. The token is only ever put in
 * the Authorization header, never in a message.
 */
export function createHcloudApi(params: {
  readonly endpoint: string;
  readonly token: string;
  readonly limiter: RateLimiter;
  readonly clock: Clock;
  readonly dispatcher?: Dispatcher | undefined;
}): HcloudApi {
  const { endpoint, token, limiter, clock, dispatcher } = params;

  async function once(method: string, target: string, body: unknown, signal: AbortSignal | undefined) {
    await limiter.acquire(signal);
    let response: Dispatcher.ResponseData;
    try {
      response = await request(target, {
        method: method as Dispatcher.HttpMethod,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          'user-agent': 'forgejo-fleet',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(dispatcher === undefined ? {} : { dispatcher }),
        ...(signal === undefined ? {} : { signal }),
        headersTimeout: TIMEOUT_MS,
        bodyTimeout: TIMEOUT_MS,
      });
    } catch (error) {
      limiter.observe({});
      if (isAbortError(error)) throw error;
      throwIfAborted(signal);
      const code = (error as { code?: unknown }).code;
      throw new HcloudNetworkError(
        `${method} ${new URL(target).pathname}: no answer (${typeof code === 'string' ? code : 'network error'})`,
      );
    }
    limiter.observe(rateLimitHeaders(response.headers));
    let text: string;
    try {
      text = await response.body.text();
    } catch {
      throw new HcloudNetworkError(`${method} ${new URL(target).pathname}: answer cut off`);
    }
    return { status: response.statusCode, text };
  }

  function parseJson(text: string): unknown {
    try {
      return text.trim() === '' ? {} : (JSON.parse(text) as unknown);
    } catch {
      return undefined;
    }
  }

  return {
    async call(method, path, schema, options = {}) {
      const target = url(endpoint, path, options.query);
      const { signal } = options;
      let rateLimited = 0;
      let failures = 0;
      for (;;) {
        throwIfAborted(signal);
        try {
          const { status, text } = await once(method, target, options.body, signal);
          const json = parseJson(text);
          if (status >= 200 && status < 300) {
            const parsed = schema.safeParse(json);
            if (!parsed.success)
              throw new HcloudProtocolError(`${method} ${path}: unexpected answer (HTTP ${status})`);
            return parsed.data;
          }
          const error = ErrorBody.safeParse(json);
          const apiError = error.success
            ? new HcloudApiError(
                status,
                error.data.error.code,
                error.data.error.message,
                error.data.error.details,
              )
            : new HcloudApiError(
                status,
                status >= 500 ? 'server_error' : `http_${status}`,
                `HTTP ${status}`,
                undefined,
              );
          if (apiError.code === 'rate_limit_exceeded' || status === 429) {
            // Another client of the project spent the budget: the headers emptied our bucket.
            limiter.observe({ remaining: 0 });
            if (++rateLimited < RATE_LIMIT_ATTEMPTS) continue;
          }
          throw apiError;
        } catch (error) {
          if (method === 'POST' || !retryable(error) || ++failures > READ_RETRIES) throw error;
          await clock.sleep(RETRY_BASE_MS * 2 ** (failures - 1), signal);
        }
      }
    },
  };
}
