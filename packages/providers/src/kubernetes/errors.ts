import { z } from 'zod';
import { ProviderError, type ProviderErrorClass } from '../provider.js';
import { shorten } from '../text.js';

/** The parts of a `Status` error object the provider reads (apimachinery meta/v1 Status). */
export const Status = z.object({
  kind: z.literal('Status'),
  status: z.string().optional(),
  message: z.string().default(''),
  reason: z.string().default(''),
  code: z.number().int().optional(),
  metadata: z.object({ continue: z.string().optional() }).optional(),
  details: z
    .object({
      causes: z.array(z.object({ field: z.string().optional(), message: z.string().optional() })).optional(),
      retryAfterSeconds: z.number().int().nonnegative().optional(),
    })
    .optional(),
});
export type Status = z.infer<typeof Status>;

/** An error answer of the API server: its HTTP status and, when it sent one, its Status object. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  readonly status: number;
  readonly reason: string;
  /** From the Retry-After header, else the Status' details.retryAfterSeconds. */
  readonly retryAfterMs: number | undefined;
  /** A 422's field errors, `field: message`. */
  readonly causes: readonly string[];

  constructor(status: number, body: Status | undefined, retryAfterMs: number | undefined) {
    const causes = (body?.details?.causes ?? []).map((c) =>
      c.field === undefined ? (c.message ?? '') : `${c.field}: ${c.message ?? 'invalid'}`,
    );
    const text = body?.message || `HTTP ${status}`;
    super(`${body?.reason || `HTTP ${status}`}: ${text}`);
    this.status = status;
    this.reason = body?.reason ?? '';
    this.retryAfterMs = retryAfterMs;
    this.causes = causes;
  }
}

/** No answer (refused, reset, timed out): the request may or may not have been acted on. */
export class KubeNetworkError extends Error {
  override readonly name = 'KubeNetworkError';
}

/** An answer that is not what the API documents. */
export class KubeProtocolError extends Error {
  override readonly name = 'KubeProtocolError';
}

/** The admission plugin's words for a namespace ResourceQuota refusal (k/k resourcequota controller). */
export const QUOTA_MESSAGE = 'exceeded quota:';

/**
 * One rule for every call: a ResourceQuota refusal is capacity (another provider has room; this
 * one cools down), 429 is rate-limited, 401 and other 403s are configuration (fatal: the circuit
 * opens), 422 and other 4xx are permanent, 5xx and no answer are transient.
 */
export function classifyKubeError(error: unknown): ProviderErrorClass {
  if (error instanceof KubeNetworkError || error instanceof KubeProtocolError) return 'transient';
  if (!(error instanceof KubeApiError)) return 'fatal';
  if (error.status === 403 && error.message.includes(QUOTA_MESSAGE)) return 'capacity';
  if (error.status === 429) return 'rate-limited';
  if (error.status >= 500 || error.status === 408) return 'transient';
  return 'fatal';
}

/** Without a Retry-After the dispatcher waits this long before trying a rate-limited call again. */
const DEFAULT_RETRY_AFTER_MS = 1_000;

export function kubeError(
  provider: string,
  what: string,
  error: unknown,
  errorClass: ProviderErrorClass = classifyKubeError(error),
): ProviderError {
  let message = error instanceof Error ? shorten(error.message) : 'unknown error';
  if (error instanceof KubeApiError && error.causes.length > 0)
    message = `${message} (${shorten(error.causes.join('; '))})`;
  const retryAfterMs =
    error instanceof KubeApiError && error.retryAfterMs !== undefined
      ? error.retryAfterMs
      : DEFAULT_RETRY_AFTER_MS;
  return new ProviderError(provider, errorClass, `${what}: ${message}`, {
    cause: error,
    ...(errorClass === 'rate-limited' ? { retryAfterMs } : {}),
  });
}
