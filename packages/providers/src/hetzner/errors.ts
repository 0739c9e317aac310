import { ProviderError, type ProviderErrorClass } from '../provider.js';
import { shorten } from '../text.js';

/** An error answer of the Hetzner API: `{ error: { code, message, details } }` and its status. */
export class HcloudApiError extends Error {
  override readonly name = 'HcloudApiError';
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details: unknown) {
    super(`${code}: ${message}`);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** No answer: connection refused or reset, timeout. The request may or may not have been acted on. */
export class HcloudNetworkError extends Error {
  override readonly name = 'HcloudNetworkError';
}

/** An answer that is not what the spec promises. */
export class HcloudProtocolError extends Error {
  override readonly name = 'HcloudProtocolError';
}

const CLASS_BY_CODE: Readonly<Record<string, ProviderErrorClass>> = {
  // Another server type or location may have room.
  resource_unavailable: 'capacity',
  placement_error: 'capacity',
  // Deprecated or not offered in this location: the next choice may be fine.
  invalid_server_type: 'capacity',
  resource_limit_exceeded: 'quota',
  rate_limit_exceeded: 'rate-limited',
  limit_reached: 'rate-limited',
  locked: 'transient',
  resource_locked: 'transient',
  conflict: 'transient',
  timeout: 'transient',
  unavailable: 'transient',
  server_error: 'transient',
  service_error: 'transient',
  maintenance: 'transient',
  bad_gateway: 'transient',
  robot_unavailable: 'transient',
};

export function classifyHcloudError(error: unknown): ProviderErrorClass {
  if (error instanceof HcloudNetworkError || error instanceof HcloudProtocolError) return 'transient';
  if (!(error instanceof HcloudApiError)) return 'fatal';
  const known = CLASS_BY_CODE[error.code];
  if (known !== undefined) return known;
  if (error.status === 429) return 'rate-limited';
  if (error.status >= 500) return 'transient';
  // invalid_input, json_error, forbidden, unauthorized, token_readonly, not_found (image, type), …
  return 'fatal';
}

export function hetznerError(
  provider: string,
  what: string,
  error: unknown,
  options: { errorClass?: ProviderErrorClass; retryAfterMs?: number } = {},
): ProviderError {
  const errorClass = options.errorClass ?? classifyHcloudError(error);
  const message = error instanceof Error ? shorten(error.message) : 'unknown error';
  return new ProviderError(provider, errorClass, `${what}: ${message}`, {
    cause: error,
    ...(errorClass === 'rate-limited' ? { retryAfterMs: options.retryAfterMs ?? 1_000 } : {}),
  });
}
