/**
 * One HTTP exchange with the dispatcher: a deadline and the caller's signal on the request and on
 * reading its body. Knows nothing about retries or the API's shapes.
 */

/** The part of `fetch` the client uses; `globalThis.fetch` (undici) fits, tests pass their own. */
export type Fetch = (
  url: string,
  init: {
    method: string;
    headers: Record<string, string>;
    body?: string;
    signal: AbortSignal;
  },
) => Promise<Response>;

export interface Exchanged {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly contentType: string;
  readonly text: string;
}

export interface ExchangeRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
}

/** Rejects with the reason when the deadline passes or `signal` aborts; never hangs. */
export async function exchange(fetch: Fetch, request: ExchangeRequest): Promise<Exchanged> {
  // One controller per attempt, unhooked afterwards: a caller's signal may live for the whole
  // process (the shutdown signal) and must not collect a listener per request.
  const attempt = new AbortController();
  const abort = () => attempt.abort(request.signal?.reason);
  request.signal?.addEventListener('abort', abort, { once: true });
  if (request.signal?.aborted) abort();
  // A real timer on purpose: the deadline bounds a peer that stopped answering, in wall time.
  const timer = setTimeout(
    () => attempt.abort(new Error(`timed out after ${request.timeoutMs} ms`)),
    request.timeoutMs,
  );
  try {
    // Raced with the signal: a fetch (or a body) that ignores its signal must not hold the
    // request, its limiter slot and its caller forever.
    const res = await untilAborted(
      fetch(request.url, {
        method: request.method,
        headers: request.headers,
        ...(request.body === undefined ? {} : { body: request.body }),
        signal: attempt.signal,
      }),
      attempt.signal,
    );
    const text = await untilAborted(res.text(), attempt.signal);
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      contentType: res.headers.get('content-type') ?? '',
      text,
    };
  } finally {
    clearTimeout(timer);
    request.signal?.removeEventListener('abort', abort);
  }
}

/** `work`, or a rejection with the signal's reason as soon as it aborts. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
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
