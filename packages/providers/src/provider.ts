/**
 * The provider contract (GARM-like): four verbs, one typed spec in, one normalised instance
 * out, an AbortSignal on every call, and errors classified so the dispatcher can fall back to
 * the next provider in a route's chain and cool a failing one down.
 */

export type ProviderErrorClass = 'capacity' | 'quota' | 'rate-limited' | 'transient' | 'fatal';

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly class: ProviderErrorClass;
  readonly provider: string;
  /** Transient and rate-limited errors may succeed on retry; the others need a different choice. */
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(
    provider: string,
    errorClass: ProviderErrorClass,
    message: string,
    options: { cause?: unknown; retryAfterMs?: number } = {},
  ) {
    super(`${provider}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.provider = provider;
    this.class = errorClass;
    this.retryable = errorClass === 'transient' || errorClass === 'rate-limited';
    this.retryAfterMs = options.retryAfterMs;
  }
}

export interface InstanceSpec {
  /** Unique per dispatch, valid as a hostname (lowercase letters, digits, '-', at most 63). */
  readonly name: string;
  /** Same key → same instance, across retries and restarts (ClientToken, unique name, …). */
  readonly idempotencyKey: string;
  readonly userData: string;
  /** Ownership and bookkeeping tags: fleet id, dispatch id, handle, route, scope. */
  readonly tags: Readonly<Record<string, string>>;
}

export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'terminated' | 'unknown';

export interface Instance {
  /** The provider's id of the instance. */
  readonly id: string;
  readonly name: string;
  readonly state: InstanceState;
  readonly tags: Readonly<Record<string, string>>;
  /** Epoch milliseconds, when the provider tells. */
  readonly createdAt?: number;
  /** The machine choice that was used (instance type, server type, …). */
  readonly machine?: string;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
}

export interface Provider {
  readonly name: string;
  readonly kind: string;
  create(spec: InstanceSpec, options?: CallOptions): Promise<Instance>;
  /** Idempotent: an instance that is already gone is success (`not-found`). */
  delete(id: string, options?: CallOptions): Promise<'deleted' | 'not-found'>;
  get(id: string, options?: CallOptions): Promise<Instance | undefined>;
  /** Every instance carrying all of `tags` (normally the fleet id), across all pages. */
  list(tags: Readonly<Record<string, string>>, options?: CallOptions): Promise<Instance[]>;
}
