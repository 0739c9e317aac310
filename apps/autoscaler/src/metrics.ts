import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type SkipReason = 'no_labels' | 'no_route' | 'conflict' | 'rejected' | 'dispatch_failed';

export type DeliveryResult =
  | 'accepted'
  | 'ignored'
  | 'duplicate'
  | 'unsigned'
  | 'bad_signature'
  | 'oversize'
  | 'malformed';

export type PollError = 'auth' | 'invalid_response' | 'http' | 'network' | 'config' | 'other';

/** Every metric of the autoscaler, on its own registry (never prom-client's global one). */
export function createMetrics() {
  const registry = new Registry();
  const prefix = 'forgejo_fleet_autoscaler_';
  const registers = [registry];
  return {
    registry,
    waitingJobs: new Gauge({
      name: `${prefix}waiting_jobs`,
      help: 'Jobs in status waiting in the last successful list of the scope',
      labelNames: ['scope'],
      registers,
    }),
    jobsSeen: new Counter({
      name: `${prefix}jobs_seen_total`,
      help: 'Distinct waiting jobs (handles) seen, by the scope they belong to',
      labelNames: ['scope'],
      registers,
    }),
    dispatched: new Counter({
      name: `${prefix}dispatched_total`,
      help: 'Jobs the dispatcher accepted: created (202) or already known (200)',
      labelNames: ['scope', 'result'],
      registers,
    }),
    skipped: new Counter({
      name: `${prefix}skipped_total`,
      help: 'Jobs not dispatched, by reason',
      labelNames: ['reason'],
      registers,
    }),
    pollDuration: new Histogram({
      name: `${prefix}poll_duration_seconds`,
      help: 'Duration of one job list call',
      labelNames: ['scope'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    pollErrors: new Counter({
      name: `${prefix}poll_errors_total`,
      help: 'Failed polls, by scope and kind',
      labelNames: ['scope', 'kind'],
      registers,
    }),
    scopeAuthFailures: new Counter({
      name: `${prefix}scope_auth_failures_total`,
      help: 'Forgejo calls of a scope answered 401 or 403 (the scope token is rejected)',
      labelNames: ['scope'],
      registers,
    }),
    scopeUp: new Gauge({
      name: `${prefix}scope_up`,
      help: '1 when the scope was polled successfully last time, 0 when its last poll failed',
      labelNames: ['scope'],
      registers,
    }),
    webhookDeliveries: new Counter({
      name: `${prefix}webhook_deliveries_total`,
      help: 'Webhook deliveries received, by result',
      labelNames: ['result'],
      registers,
    }),
    dispatchRequests: new Counter({
      name: `${prefix}dispatch_requests_total`,
      help: 'HTTP requests to the dispatcher, by endpoint and status (or "error" without an answer)',
      labelNames: ['endpoint', 'status'],
      registers,
    }),
    hookChanges: new Counter({
      name: `${prefix}webhook_manager_changes_total`,
      help: 'Changes the webhook manager made, by scope and action',
      labelNames: ['scope', 'action'],
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
