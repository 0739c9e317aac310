import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Metrics } from '../metrics.js';
import { createLimiter } from './limiter.js';
import { backoffMs, DISPATCH_RETRY, isRetryableStatus, parseRetryAfter, type RetryPolicy } from './retry.js';

/** What the autoscaler sends for one waiting job (`POST /v1/dispatch`). */
export interface DispatchBody {
  readonly scope: string;
  readonly labels: readonly string[];
  readonly job: {
    readonly handle: string;
    readonly id: number;
    readonly attempt: number;
    readonly repo_id: number;
    readonly owner_id: number;
    readonly name: string;
  };
}

export type DispatchOutcome =
  /** 202: a new dispatch; 200: the dispatcher already had one for this handle. */
  | { readonly kind: 'created' | 'existing'; readonly id: string; readonly route: string | undefined }
  /** 422: no route takes these labels (our route cache was stale). */
  | { readonly kind: 'no_route'; readonly message: string }
  /** 409: the handle was dispatched for another scope or route. */
  | { readonly kind: 'conflict'; readonly message: string }
  /** Another 4xx (bad request, forbidden scope, auth): asking again gives the same answer. */
  | { readonly kind: 'rejected'; readonly status: number; readonly message: string }
  /** No acceptance after every retry (dispatcher down, 5xx, 429): the next poll tries again. */
  | { readonly kind: 'failed'; readonly message: string };

/** `forbidden`: the dispatcher takes reconcile requests only from `*` clients (403). */
export type ReconcileOutcome = 'accepted' | 'unsupported' | 'forbidden' | 'failed';

const DispatchView = z.object({ id: z.string().min(1), route: z.string().optional() });
const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
export const RouteInfo = z.object({ name: z.string(), labels: z.array(z.string()) });
export type RouteInfo = z.infer<typeof RouteInfo>;
const RouteList = z.object({ routes: z.array(RouteInfo) });

export interface DispatcherClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly token: string;
  readonly timeoutMs: number;
  /** Requests to the dispatcher at once. */
  readonly concurrency: number;
  readonly clock: Clock;
  readonly random: () => number;
  readonly fetch: typeof fetch;
  readonly metrics: Metrics;
  readonly retry?: RetryPolicy;
}

type Answer = { status: number; retryAfter: string | null; json: unknown };

class NoAnswer extends Error {
  override readonly name = 'NoAnswer';
}

/** The dispatcher's HTTP API as the autoscaler uses it. Never throws for HTTP or network trouble. */
export function createDispatcherClient(opts: DispatcherClientOptions) {
  const base = opts.url.replace(/\/+$/, '');
  const limiter = createLimiter(opts.concurrency);
  const retry = opts.retry ?? DISPATCH_RETRY;

  // One HTTP exchange inside a limiter slot; retries wait outside it, so a dispatcher that is down
  // does not hold every slot while sleeping.
  function exchange(endpoint: string, method: string, path: string, body: unknown, signal?: AbortSignal) {
    return limiter.run(async (): Promise<Answer> => {
      // One controller per attempt, unhooked afterwards: the shutdown signal lives for the whole
      // process and must not collect a listener per request.
      const attemptSignal = new AbortController();
      const abort = () => attemptSignal.abort(signal?.reason);
      signal?.addEventListener('abort', abort, { once: true });
      const timer = setTimeout(
        () => attemptSignal.abort(new Error(`timed out after ${opts.timeoutMs} ms`)),
        opts.timeoutMs,
      );
      try {
        // Raced with the signal: a fetch (or a body) that ignores its signal must not hold the
        // request, its limiter slot and its handle forever.
        const res = await untilAborted(
          opts.fetch(`${base}${path}`, {
            method,
            headers: {
              authorization: `Bearer ${opts.token}`,
              accept: 'application/json',
              ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            },
            ...(body === undefined ? {} : { body: JSON.stringify(body) }),
            signal: attemptSignal.signal,
          }),
          attemptSignal.signal,
        );
        const text = await untilAborted(res.text(), attemptSignal.signal);
        opts.metrics.dispatchRequests.inc({ endpoint, status: String(res.status) });
        let json: unknown;
        try {
          json = text === '' ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        return { status: res.status, retryAfter: res.headers.get('retry-after'), json };
      } catch (error) {
        opts.metrics.dispatchRequests.inc({ endpoint, status: 'error' });
        throw new NoAnswer(error instanceof Error ? error.message : String(error), { cause: error });
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
      }
    });
  }

  /** Retries network errors and retryable statuses; returns the first other answer. */
  async function withRetries(
    endpoint: string,
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
    attempts = retry.attempts,
  ): Promise<Answer | { failed: string }> {
    let last = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (signal?.aborted) return { failed: 'aborted' };
      let wait = 0;
      try {
        const answer = await exchange(endpoint, method, path, body, signal);
        if (!isRetryableStatus(answer.status)) return answer;
        last = `${answer.status} ${errorMessage(answer.json)}`;
        wait = parseRetryAfter(answer.retryAfter, opts.clock.now()) ?? 0;
      } catch (error) {
        last = (error as Error).message;
      }
      if (attempt < attempts) {
        await opts.clock.sleep(Math.max(wait, backoffMs(attempt, retry, opts.random)), signal);
      }
    }
    return { failed: `no answer after ${attempts} attempt(s): ${last}` };
  }

  return {
    limiter,

    async dispatch(body: DispatchBody, signal?: AbortSignal): Promise<DispatchOutcome> {
      const answer = await withRetries('dispatch', 'POST', '/v1/dispatch', body, signal);
      if ('failed' in answer) return { kind: 'failed', message: answer.failed };
      const { status, json } = answer;
      if (status === 200 || status === 202) {
        const view = DispatchView.safeParse(json);
        if (!view.success)
          return { kind: 'failed', message: `unexpected ${status} body from the dispatcher` };
        return { kind: status === 202 ? 'created' : 'existing', id: view.data.id, route: view.data.route };
      }
      if (status === 422) return { kind: 'no_route', message: errorMessage(json) };
      if (status === 409) return { kind: 'conflict', message: errorMessage(json) };
      if (status >= 400 && status < 500) return { kind: 'rejected', status, message: errorMessage(json) };
      return { kind: 'failed', message: `${status} ${errorMessage(json)}` };
    },

    /** The dispatcher's routes, or an error message. */
    async routes(signal?: AbortSignal, attempts?: number): Promise<RouteInfo[] | { error: string }> {
      const answer = await withRetries('routes', 'GET', '/v1/routes', undefined, signal, attempts);
      if ('failed' in answer) return { error: answer.failed };
      if (answer.status !== 200) return { error: `${answer.status} ${errorMessage(answer.json)}` };
      const parsed = RouteList.safeParse(answer.json);
      return parsed.success ? parsed.data.routes : { error: 'unexpected body from GET /v1/routes' };
    },

    /**
     * Asks the dispatcher to reconcile soon; `unsupported` when it has no such endpoint (404),
     * `forbidden` when this client's scopes are not `*` (403).
     */
    async reconcile(reason: string, signal?: AbortSignal): Promise<ReconcileOutcome> {
      const answer = await withRetries('reconcile', 'POST', '/v1/reconcile', { reason }, signal);
      if ('failed' in answer) return 'failed';
      if (answer.status === 404) return 'unsupported';
      if (answer.status === 403) return 'forbidden';
      return answer.status >= 200 && answer.status < 300 ? 'accepted' : 'failed';
    },
  };
}

export type DispatcherClient = ReturnType<typeof createDispatcherClient>;

function errorMessage(json: unknown): string {
  const parsed = ErrorBody.safeParse(json);
  return parsed.success ? `${parsed.data.error.code}: ${parsed.data.error.message}` : '(no error body)';
}

/** `work`, or a rejection with the signal's reason as soon as it aborts. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
