/**
 * A dispatch request as the service takes it: the wire contract's type, one definition for the
 * server, the autoscaler and the CLI (packages/dispatch-api). The HTTP layer parses and validates the
 * body with that package's schema and passes the plain data in; the service never sees HTTP.
 */
export type { DispatchRequest } from '@forgejo-fleet/dispatch-api';
