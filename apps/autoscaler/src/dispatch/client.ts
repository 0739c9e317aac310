import {
  type ApiFailure,
  createDispatchApiClient,
  type DispatchApiClientOptions,
  type DispatchRequest,
  describeFailure,
  type Fetch,
  type RouteInfo,
} from '@forgejo-fleet/dispatch-api';
import type { Metrics } from '../metrics.js';

export type { RouteInfo } from '@forgejo-fleet/dispatch-api';

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

export interface DispatcherClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly token: string;
  readonly timeoutMs: number;
  /** Requests to the dispatcher at once. */
  readonly concurrency: number;
  readonly clock: NonNullable<DispatchApiClientOptions['clock']>;
  readonly random: () => number;
  readonly fetch: Fetch;
  readonly metrics: Metrics;
  readonly retry?: DispatchApiClientOptions['retry'];
}

/**
 * The dispatch API client (`@forgejo-fleet/dispatch-api`) in the autoscaler's terms: what a poll
 * does with each answer. Never throws for HTTP or network trouble.
 */
export function createDispatcherClient(opts: DispatcherClientOptions) {
  const api = createDispatchApiClient({
    url: opts.url,
    token: opts.token,
    timeoutMs: opts.timeoutMs,
    concurrency: opts.concurrency,
    clock: opts.clock,
    random: opts.random,
    fetch: opts.fetch,
    ...(opts.retry ? { retry: opts.retry } : {}),
    onAttempt: (endpoint, status) => opts.metrics.dispatchRequests.inc({ endpoint, status }),
  });

  return {
    limiter: api.limiter,

    async dispatch(body: DispatchRequest, signal?: AbortSignal): Promise<DispatchOutcome> {
      const result = await api.dispatch(body, signal ? { signal } : {});
      if (result.ok) {
        return {
          kind: result.status === 202 ? 'created' : 'existing',
          id: result.value.id,
          route: result.value.route,
        };
      }
      return refusal(result);
    },

    /** The dispatcher's routes (names and labels), or an error message. */
    async routes(signal?: AbortSignal, attempts?: number): Promise<RouteInfo[] | { error: string }> {
      const result = await api.routeInfos({
        ...(signal ? { signal } : {}),
        ...(attempts === undefined ? {} : { attempts }),
      });
      return result.ok ? result.value : { error: describeFailure(result) };
    },

    /**
     * Asks the dispatcher to reconcile soon; `unsupported` when it has no such endpoint (404),
     * `forbidden` when this client's scopes are not `*` (403).
     */
    async reconcile(reason: string, signal?: AbortSignal): Promise<ReconcileOutcome> {
      const result = await api.reconcile(reason, signal ? { signal } : {});
      if (result.ok) return 'accepted';
      if (result.kind === 'refused' && result.status === 404) return 'unsupported';
      if (result.kind === 'refused' && result.status === 403) return 'forbidden';
      return 'failed';
    },
  };
}

export type DispatcherClient = ReturnType<typeof createDispatcherClient>;

function refusal(failure: ApiFailure): DispatchOutcome {
  if (failure.kind !== 'refused') return { kind: 'failed', message: failure.message };
  const message = `${failure.code}: ${failure.message}`;
  if (failure.status === 422) return { kind: 'no_route', message };
  if (failure.status === 409) return { kind: 'conflict', message };
  if (failure.status >= 400 && failure.status < 500)
    return { kind: 'rejected', status: failure.status, message };
  return { kind: 'failed', message: `${failure.status} ${message}` };
}
