import { ProviderError, type ProviderErrorClass } from '../provider.js';
import { shorten } from '../text.js';

// No capacity for this type in this AZ/market right now: another choice may have some.
const CAPACITY = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientHostCapacity',
  'InsufficientReservedInstanceCapacity',
  'InsufficientCapacityOnHost',
  'InsufficientFreeAddressesInSubnet',
  'MaxSpotInstanceCountExceeded',
  'SpotMaxPriceTooLow',
  'UnfulfillableCapacity',
  // "The requested configuration is currently not supported", e.g. a type not offered in this AZ.
  'Unsupported',
]);

// Account limits: no other choice of this account helps until the operator raises them.
const QUOTA = new Set([
  'InstanceLimitExceeded',
  'VcpuLimitExceeded',
  'VolumeLimitExceeded',
  'MaxIOPSLimitExceeded',
  'ResourceLimitExceeded',
  'AddressLimitExceeded',
]);

const RATE_LIMITED = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
]);

const TRANSIENT = new Set([
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'Unavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Gone, or never was: what get and delete report as absent. */
export const NOT_FOUND = new Set(['InvalidInstanceID.NotFound', 'InvalidInstanceID.Malformed']);

/** How long to wait after the SDK's own retries gave up on throttling (RunInstances refills 2/s). */
export const RATE_LIMIT_RETRY_MS = 1_000;

interface AwsErrorLike {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly message?: unknown;
  readonly $fault?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
}

export function errorName(error: unknown): string {
  if (typeof error !== 'object' || error === null) return 'UnknownError';
  const { name } = error as AwsErrorLike;
  return typeof name === 'string' ? name : 'UnknownError';
}

/** The class of an EC2 failure, from the AWS error code the SDK puts in `name`. */
export function classifyEc2Error(error: unknown): ProviderErrorClass {
  const name = errorName(error);
  if (CAPACITY.has(name)) return 'capacity';
  if (QUOTA.has(name)) return 'quota';
  if (RATE_LIMITED.has(name)) return 'rate-limited';
  if (TRANSIENT.has(name)) return 'transient';
  const e = (typeof error === 'object' && error !== null ? error : {}) as AwsErrorLike;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 500) return 'transient';
  if (e.$fault === 'server') return 'transient';
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return 'transient';
  if (NETWORK_CODES.has(name)) return 'transient';
  // SDK-level failures without an HTTP answer (socket hang up, aborted connection by a timeout).
  if (
    status === undefined &&
    e.$fault === undefined &&
    /socket|network|timeout|timed out/i.test(String(e.message))
  ) {
    return 'transient';
  }
  return 'fatal';
}

/**
 * A failure after which AWS may or may not have acted on the request: the answer was lost (5xx,
 * network, timeout). A create must be resolved by looking before anything else is launched.
 */
export function isAmbiguous(errorClass: ProviderErrorClass): boolean {
  return errorClass === 'transient';
}

/** A ProviderError naming the call and the AWS code; the message is cut short and holds no credentials. */
export function ec2Error(
  provider: string,
  what: string,
  error: unknown,
  errorClass = classifyEc2Error(error),
) {
  const message =
    typeof (error as AwsErrorLike)?.message === 'string' ? (error as { message: string }).message : '';
  const text = message === '' ? errorName(error) : `${errorName(error)}: ${shorten(message)}`;
  return new ProviderError(provider, errorClass, `${what}: ${text}`, {
    cause: error,
    ...(errorClass === 'rate-limited' ? { retryAfterMs: RATE_LIMIT_RETRY_MS } : {}),
  });
}
