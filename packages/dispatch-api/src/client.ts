import {
  type Clock,
  createLimiter,
  isRetryableStatus,
  type Limiter,
  parseRetryAfter,
  type RetryOptions,
  type RetryPolicy,
  retryDelayMs,
  retryPolicy,
  systemClock,
} from '@forgejo-fleet/runtime';
import type { z } from 'zod';
import { type Exchanged, exchange, type Fetch } from './exchange.js';
import { COMPONENTS, fillPath, ROUTES, type RouteDef, type RouteName } from './routes.js';
import {
  type BudgetList,
  type DecisionList,
  type Dispatch,
  DispatchAck,
  type DispatchList,
  type DispatchRequest,
  ErrorBody,
  type ListDecisionsQuery,
  type ListDispatchesQuery,
  type RouteInfo,
  RouteInfoList,
  type RouteList,
} from './schemas.js';

/** Five attempts over about 7.5 s: long enough for a dispatcher restart, short of a poll interval. */
export const DISPATCH_RETRY: RetryPolicy = { attempts: 5, baseMs: 500, maxMs: 15_000 };

export type ApiResult<T> = { readonly ok: true; readonly status: number; readonly value: T } | ApiFailure;

export type ApiFailure =
  /** An error answer that asking again would not change: 4xx, or a 5xx that is not worth a retry. */
  | {
      readonly ok: false;
      readonly kind: 'refused';
      readonly status: number;
      readonly code: string;
      readonly message: string;
      readonly details?: unknown;
    }
  /** No usable answer after every attempt: network errors, deadlines, 429/503…, a body off the contract. */
  | { readonly ok: false; readonly kind: 'failed'; readonly message: string }
  /** The caller's signal aborted. */
  | { readonly ok: false; readonly kind: 'aborted'; readonly message: string };

export interface DispatchApiClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly token: string;
  /** Deadline of one attempt (request and body), in ms. */
  readonly timeoutMs: number;
  /** Requests in flight at once; waiting between retries does not hold a slot. */
  readonly concurrency: number;
  /** Default: the system clock; services pass theirs so tests run on virtual time. */
  readonly clock?: Pick<Clock, 'now' | 'sleep'>;
  /** Backoff jitter in [0, 1). Default: `Math.random`. */
  readonly random?: () => number;
  /** Default: `globalThis.fetch` (undici). */
  readonly fetch?: Fetch;
  readonly retry?: RetryOptions;
  /** Called once per attempt with the route and the status, or `error` without an answer (metrics). */
  readonly onAttempt?: (route: RouteName, status: string) => void;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
  /** Attempts for this call only (e.g. 1 at start-up, where the caller retries on its own). */
  readonly attempts?: number;
}

interface CallInput {
  readonly params?: Record<string, string>;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly body?: unknown;
}

class NoAnswer extends Error {
  override readonly name = 'NoAnswer';
}

/**
 * The dispatch API as every caller speaks it: the autoscaler, the CLI and the smoke scripts. Answers
 * are checked against the contract's schemas; HTTP and network trouble come back as typed results,
 * never as exceptions. Network errors, deadlines and 408/429/5xx (but 501/505) are retried with
 * backoff, honouring Retry-After; every endpoint is safe to repeat (a dispatch is idempotent per
 * job handle, a reconcile request is coalesced).
 */
export function createDispatchApiClient(opts: DispatchApiClientOptions) {
  const base = opts.url.replace(/\/+$/, '');
  const limiter: Limiter = createLimiter(opts.concurrency);
  const policy = retryPolicy(opts.retry, DISPATCH_RETRY);
  const fetch: Fetch = opts.fetch ?? ((url, init) => globalThis.fetch(url, init));
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? Math.random;

  // One exchange inside a limiter slot; retries wait outside it, so a dispatcher that is down does
  // not hold every slot while sleeping.
  function attempt(name: RouteName, route: RouteDef, input: CallInput, signal?: AbortSignal) {
    return limiter.run(async (): Promise<Exchanged> => {
      try {
        const answer = await exchange(fetch, {
          url: `${base}${fillPath(route, input.params)}${queryString(input.query)}`,
          method: route.method.toUpperCase(),
          headers: {
            authorization: `Bearer ${opts.token}`,
            accept: route.answers[200]?.text ? 'text/plain, application/json' : 'application/json',
            ...(input.body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(input.body === undefined ? {} : { body: JSON.stringify(input.body) }),
          timeoutMs: opts.timeoutMs,
          signal,
        });
        opts.onAttempt?.(name, String(answer.status));
        return answer;
      } catch (error) {
        opts.onAttempt?.(name, 'error');
        throw new NoAnswer(error instanceof Error ? error.message : String(error), { cause: error });
      }
    });
  }

  /** The first answer that is not worth another try, or why there was none. */
  async function send(
    name: RouteName,
    input: CallInput,
    call: CallOptions,
  ): Promise<Exchanged | Exclude<ApiFailure, { kind: 'refused' }>> {
    const route: RouteDef = ROUTES[name];
    const attempts = call.attempts ?? policy.attempts;
    const { signal } = call;
    let last = '';
    for (let n = 1; n <= attempts; n++) {
      if (signal?.aborted) return aborted(signal);
      let retryAfterMs: number | undefined;
      try {
        const answer = await attempt(name, route, input, signal);
        if (!isRetryableStatus(answer.status)) return answer;
        last = `${answer.status} ${describe(errorOf(answer))}`;
        retryAfterMs = parseRetryAfter(answer.retryAfter, clock.now());
      } catch (error) {
        if (signal?.aborted) return aborted(signal);
        last = (error as Error).message;
      }
      if (n < attempts) {
        try {
          await clock.sleep(retryDelayMs(n, policy, random, retryAfterMs), signal);
        } catch (error) {
          if (signal?.aborted) return aborted(signal);
          throw error;
        }
      }
    }
    return { ok: false, kind: 'failed', message: `no answer after ${attempts} attempt(s): ${last}` };
  }

  /** Sends, then checks a 2xx answer against `parse`; other answers become `refused`. */
  async function call<T>(
    name: RouteName,
    input: CallInput,
    options: CallOptions,
    parse: (answer: Exchanged) => { success: true; data: T } | { success: false },
  ): Promise<ApiResult<T>> {
    const answer = await send(name, input, options);
    if ('ok' in answer) return answer;
    if (answer.status < 200 || answer.status > 299) {
      const error = errorOf(answer);
      return {
        ok: false,
        kind: 'refused',
        status: answer.status,
        code: error.code,
        message: error.message,
        ...(error.details === undefined ? {} : { details: error.details }),
      };
    }
    const parsed = parse(answer);
    if (!parsed.success) {
      const route = ROUTES[name];
      return {
        ok: false,
        kind: 'failed',
        message: `unexpected ${answer.status} body from ${route.method.toUpperCase()} ${route.path}`,
      };
    }
    return { ok: true, status: answer.status, value: parsed.data };
  }

  const json =
    <T>(schema: z.ZodType<T>) =>
    (answer: Exchanged) =>
      schema.safeParse(parseJson(answer.text));

  return {
    limiter,

    /** 202: a new dispatch; 200: this handle was dispatched before. Reads only `id` and `route`. */
    dispatch(body: DispatchRequest, options: CallOptions = {}): Promise<ApiResult<DispatchAck>> {
      return call('dispatch', { body }, options, json(DispatchAck));
    },

    getDispatch(id: string, options: CallOptions = {}): Promise<ApiResult<Dispatch>> {
      return call('getDispatch', { params: { id } }, options, json(COMPONENTS.Dispatch));
    },

    listDispatches(
      query: ListDispatchesQuery = {},
      options: CallOptions = {},
    ): Promise<ApiResult<DispatchList>> {
      return call('listDispatches', { query }, options, json(COMPONENTS.DispatchList));
    },

    cancelDispatch(id: string, options: CallOptions = {}): Promise<ApiResult<Dispatch>> {
      return call('cancelDispatch', { params: { id } }, options, json(COMPONENTS.Dispatch));
    },

    /** The dispatcher's readable account of one dispatch (by id or job handle). */
    why(idOrHandle: string, options: CallOptions = {}): Promise<ApiResult<string>> {
      return call('why', { params: { id: idOrHandle } }, options, (answer) => ({
        success: true,
        data: answer.text,
      }));
    },

    decisions(query: ListDecisionsQuery = {}, options: CallOptions = {}): Promise<ApiResult<DecisionList>> {
      return call('decisions', { query }, options, json(COMPONENTS.DecisionList));
    },

    /** Asks for a reconcile pass soon (`*` clients only: 403 otherwise; 404 from older dispatchers). */
    reconcile(reason: string | undefined, options: CallOptions = {}): Promise<ApiResult<undefined>> {
      return call('reconcile', reason === undefined ? {} : { body: { reason } }, options, () => ({
        success: true,
        data: undefined,
      }));
    },

    routes(options: CallOptions = {}): Promise<ApiResult<RouteList>> {
      return call('routes', {}, options, json(COMPONENTS.RouteList));
    },

    /** Today's budgets the client may see, used vs caps (404 from dispatchers older than the endpoint). */
    budgets(options: CallOptions = {}): Promise<ApiResult<BudgetList>> {
      return call('budgets', {}, options, json(COMPONENTS.BudgetList));
    },

    /** The routes' names and labels only: all a job matcher reads, and all it should depend on. */
    routeInfos(options: CallOptions = {}): Promise<ApiResult<RouteInfo[]>> {
      return call('routes', {}, options, (answer) => {
        const parsed = RouteInfoList.safeParse(parseJson(answer.text));
        return parsed.success ? { success: true, data: parsed.data.routes } : parsed;
      });
    },
  };
}

export type DispatchApiClient = ReturnType<typeof createDispatchApiClient>;

/** `code: message` of a refusal or a failure's message, for logs and CLI output. */
export function describeFailure(failure: ApiFailure): string {
  return failure.kind === 'refused'
    ? `${failure.status} ${failure.code}: ${failure.message}`
    : failure.message;
}

function aborted(signal: AbortSignal): Extract<ApiFailure, { kind: 'aborted' }> {
  const reason: unknown = signal.reason;
  return { ok: false, kind: 'aborted', message: reason instanceof Error ? reason.message : 'aborted' };
}

/** The API's error body, or what came instead (a proxy's page), cut short. */
function errorOf(answer: Exchanged): { code: string; message: string; details?: unknown } {
  const parsed = ErrorBody.safeParse(parseJson(answer.text));
  if (parsed.success) return parsed.data.error;
  const text = answer.text.trim().slice(0, 200);
  return { code: 'unknown', message: text === '' ? '(no error body)' : text };
}

function describe(error: { code: string; message: string }): string {
  return `${error.code}: ${error.message}`;
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

function queryString(query: CallInput['query']): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined) params.set(key, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}
