import { type Clock, isAbortError, parseRetryAfter, throwIfAborted } from '@forgejo-fleet/runtime';
import { type Dispatcher, request } from 'undici';
import type { z } from 'zod';
import type { Connection } from './connection.js';
import { KubeApiError, KubeNetworkError, KubeProtocolError, Status } from './errors.js';

/** Per request; the call's own deadline (call_timeouts) bounds the whole verb. */
const TIMEOUT_MS = 30_000;
/** Retries of idempotent calls (GET, DELETE) that got no answer or a 5xx. */
const READ_RETRIES = 2;
const RETRY_BASE_MS = 500;
/** A Retry-After longer than this is reported, not waited for: the dispatcher decides. */
const MAX_RETRY_AFTER_MS = 5 * 60_000;

export type Method = 'GET' | 'POST' | 'DELETE';

export interface RequestOptions {
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly body?: unknown;
  readonly signal?: AbortSignal | undefined;
}

export interface KubeApi {
  call<S extends z.ZodType>(
    method: Method,
    path: string,
    schema: S,
    options?: RequestOptions,
  ): Promise<z.output<S>>;
}

function target(server: string, path: string, query: RequestOptions['query']): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {}))
    if (value !== undefined) params.append(key, String(value));
  const text = params.toString();
  return `${server}${path}${text === '' ? '' : `?${text}`}`;
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * A thin Kubernetes REST client on undici (no @kubernetes/client-node: see ./index.ts). Bearer or
 * client-certificate auth from the connection; non-2xx answers become KubeApiError with the Status
 * object when there is one (a 429 from the API priority filter is text/plain: its Retry-After header
 * is read first). A 401 re-reads a token file once, for a rotated service-account token. The token
 * only ever goes into the Authorization header, never into a message.
 */
export function createKubeApi(params: {
  readonly connection: (signal: AbortSignal | undefined) => Promise<Connection>;
  readonly clock: Clock;
}): KubeApi {
  const { clock } = params;

  async function once(method: Method, path: string, options: RequestOptions) {
    const connection = await params.connection(options.signal);
    const authorization = await connection.authorization();
    const url = target(connection.server, path, options.query);
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method,
        dispatcher: connection.dispatcher,
        headers: {
          accept: 'application/json',
          'user-agent': 'forgejo-fleet',
          ...(authorization === undefined ? {} : { authorization }),
          ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        headersTimeout: TIMEOUT_MS,
        bodyTimeout: TIMEOUT_MS,
      });
    } catch (error) {
      if (isAbortError(error)) throw error;
      throwIfAborted(options.signal);
      const code = (error as { code?: unknown }).code;
      throw new KubeNetworkError(
        `${method} ${path}: no answer (${typeof code === 'string' ? code : 'network error'})`,
      );
    }
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      if (isAbortError(error)) throw error;
      throw new KubeNetworkError(`${method} ${path}: answer cut off`);
    }
    return { connection, status: response.statusCode, headers: response.headers, text };
  }

  return {
    async call(method, path, schema, options = {}) {
      let failures = 0;
      let reauthorized = false;
      for (;;) {
        throwIfAborted(options.signal);
        try {
          const { connection, status, headers, text } = await once(method, path, options);
          const json = parseJson(text);
          if (status >= 200 && status < 300) {
            const parsed = schema.safeParse(json);
            if (!parsed.success)
              throw new KubeProtocolError(`${method} ${path}: unexpected answer (HTTP ${status})`);
            return parsed.data;
          }
          const body = Status.safeParse(json);
          const seconds = body.success ? body.data.details?.retryAfterSeconds : undefined;
          const retryAfterMs =
            parseRetryAfter(header(headers, 'retry-after'), clock.now(), MAX_RETRY_AFTER_MS) ??
            (seconds === undefined ? undefined : Math.min(seconds * 1_000, MAX_RETRY_AFTER_MS));
          if (status === 401 && !reauthorized) {
            reauthorized = true;
            connection.invalidate();
            continue;
          }
          throw new KubeApiError(status, body.success ? body.data : undefined, retryAfterMs);
        } catch (error) {
          const retryable =
            error instanceof KubeNetworkError || (error instanceof KubeApiError && error.status >= 500);
          if (method === 'POST' || !retryable || ++failures > READ_RETRIES) throw error;
          await clock.sleep(RETRY_BASE_MS * 2 ** (failures - 1), options.signal);
        }
      }
    },
  };
}
