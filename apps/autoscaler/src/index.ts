export { type Clock, systemClock } from '@forgejo-fleet/runtime';
export {
  createDispatcherClient,
  type DispatcherClient,
  type DispatchOutcome,
} from './dispatch/client.js';
export type { AutoscalerEvent } from './events.js';
export { createLogger, REDACT_PATHS } from './logger.js';
export { createMetrics, type Metrics } from './metrics.js';
export {
  type AutoscalerOptions,
  type RunningAutoscaler,
  type ScopeEntry,
  startAutoscaler,
} from './server.js';
export { sign as signWebhookPayload } from './webhook/signature.js';
