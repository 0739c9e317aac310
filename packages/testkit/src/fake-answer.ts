/**
 * One answer a fake gave, as it went on the wire: what spec-validation tests record through a fake's
 * opt-in `onAnswer` hook.
 */
export interface FakeAnswer {
  readonly method: string;
  /** Path without the query, e.g. `/v1/servers/42`. */
  readonly path: string;
  /** `?…` or empty. */
  readonly query: string;
  readonly status: number;
  readonly contentType: string | undefined;
  /** The body as sent; empty when there was none. */
  readonly body: string;
}
