/**
 * The provider contract (GARM-like): four verbs, one typed spec in, one normalised instance
 * out, an AbortSignal on every call, and errors classified so the dispatcher can fall back to
 * the next provider in a route's chain and cool a failing one down.
 */

export type ProviderErrorClass = 'capacity' | 'quota' | 'rate-limited' | 'transient' | 'fatal';

export class ProviderError extends Error {
  override readonly name: string = 'ProviderError';
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

/**
 * The instance a verb was asked to act on does not exist (any more). Not retryable: the caller
 * (e.g. a rebuild for reuse) falls back to making a new instance, and forgets this one.
 */
export class InstanceNotFoundError extends ProviderError {
  override readonly name: string = 'InstanceNotFoundError';
  readonly instanceId: string;

  constructor(provider: string, instanceId: string, message: string, options: { cause?: unknown } = {}) {
    super(provider, 'fatal', message, options);
    this.instanceId = instanceId;
  }
}

/**
 * One place a VM can be made: a machine type in a location (and, for EC2, a market). A provider
 * offers its choices in the operator's order; the dispatcher walks them and cools down the
 * (provider, choice) pairs that answer with a capacity or quota error.
 */
export interface MachineChoice {
  /** Stable and unique within the provider, e.g. `cpx22@fsn1` or `c7a.large@subnet-0a1b/spot`. */
  readonly key: string;
  /** Instance or server type. */
  readonly machine: string;
  /** Availability zone, subnet or location, when the provider has one. */
  readonly location?: string;
  readonly market?: 'spot' | 'on-demand';
  /** From the provider's `hourly_prices`, for cost estimates and money budgets. */
  readonly hourlyPrice?: number;
}

/** The single choice of providers that have no machine types to pick from (shell). */
export const DEFAULT_CHOICE: MachineChoice = { key: 'default', machine: 'default' };

export interface InstanceSpec {
  /** Unique per dispatch, valid as a hostname (lowercase letters, digits, '-', at most 63). */
  readonly name: string;
  /** Same key → same instance, across retries and restarts (ClientToken, unique name, …). */
  readonly idempotencyKey: string;
  readonly userData: string;
  /** Ownership and bookkeeping tags: fleet id, dispatch id, handle, route, scope. */
  readonly tags: Readonly<Record<string, string>>;
  /** Which of the provider's `choices` to use (default: the first). */
  readonly choice?: MachineChoice;
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
  /** Why it is not running yet, in the provider's words (a pod's `ImagePullBackOff: …`), for `why`. */
  readonly note?: string;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
}

export interface Provider {
  readonly name: string;
  readonly kind: string;
  /** Where this provider can create, in the order to try; never empty. */
  readonly choices: readonly MachineChoice[];
  /**
   * Creates one instance. The same `idempotencyKey` and choice must never make a second instance,
   * however often the call is retried; a create whose answer was lost must be resolved (found by
   * key, name or tags) before the provider gives up with a `transient` error.
   */
  create(spec: InstanceSpec, options?: CallOptions): Promise<Instance>;
  /** Idempotent: an instance that is already gone is success (`not-found`). */
  delete(id: string, options?: CallOptions): Promise<'deleted' | 'not-found'>;
  get(id: string, options?: CallOptions): Promise<Instance | undefined>;
  /** Every instance carrying all of `tags` (normally the fleet id), across all pages. */
  list(tags: Readonly<Record<string, string>>, options?: CallOptions): Promise<Instance[]>;
  /**
   * Optional: deletes many instances in as few calls as the cloud allows (EC2 terminates in
   * batches); same per-id answers as `delete`. Callers fall back to `delete` when it is absent.
   */
  deleteMany?(
    ids: readonly string[],
    options?: CallOptions,
  ): Promise<Readonly<Record<string, 'deleted' | 'not-found'>>>;
  /**
   * Optional: overwrites the instance's disk from the provider's configured image and boots it
   * with `spec.userData`; its tags become `spec.tags` (the new dispatch's) and its name `spec.name`
   * where the cloud can rename. Idempotent per `spec.idempotencyKey`: a repeated call for the same
   * key, while or after that rebuild ran, never rebuilds again. The instance reports `pending` until
   * it has booted again. An instance that does not exist is an `InstanceNotFoundError`.
   */
  rebuild?(id: string, spec: InstanceSpec, options?: CallOptions): Promise<Instance>;
}
