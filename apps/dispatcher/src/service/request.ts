import type { DispatchJob } from '@forgejo-fleet/store';

/**
 * A dispatch request as the service takes it: plain data. The HTTP layer parses and validates the
 * wire body (zod) and passes the result in, so the service never depends on a wire schema.
 */
export interface DispatchRequest {
  readonly scope: string;
  readonly labels: readonly string[];
  readonly job?: DispatchJob | undefined;
}
