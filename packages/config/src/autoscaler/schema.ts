import { Duration, withSecret } from '@forgejo-fleet/runtime/config';
import { z } from 'zod';
import { ForgejoBaseUrl, HttpUrl, Listen, Log } from '../common.js';

export const AutoscalerForgejo = z.strictObject({
  api_url: ForgejoBaseUrl('the Forgejo URL the autoscaler calls'),
  timeout: Duration({ min: 1_000, max: 120_000 }).prefault('10s'),
});

export const DispatcherLink = withSecret(
  {
    url: HttpUrl('the dispatcher URL'),
    timeout: Duration({ min: 1_000, max: 120_000 }).prefault('15s'),
    /** How often the routes (label sets the dispatcher can serve) are re-read. */
    routes_refresh: Duration({ min: 1_000, max: 3_600_000 }).prefault('60s'),
    /** Dispatch requests in flight at once: a burst is sent steadily, never all at once. */
    concurrency: z.number().int().min(1).max(256).default(16),
  },
  'token',
  true,
);

export const Poll = z.strictObject({
  interval: Duration({ min: 1_000, max: 3_600_000 }).prefault('5s'),
  /** Each tick is shifted by up to this fraction of the interval, so scopes do not poll in lockstep. */
  jitter: z.number().min(0).max(0.5).default(0.2),
  /** After a push-like webhook, poll the affected scope this often for `fast_window`. */
  fast_interval: Duration({ min: 250, max: 60_000 }).prefault('1s'),
  fast_window: Duration({ min: 0, max: 3_600_000 }).prefault('60s'),
  /** Longest backoff after repeated errors in one scope. */
  max_backoff: Duration({ min: 1_000, max: 3_600_000 }).prefault('2m'),
});

export const WebhookReceiver = withSecret(
  {
    listen: Listen,
    /** The URL Forgejo posts to (it must reach this; Forgejo blocks loopback targets unless ALLOWED_HOST_LIST allows them). */
    public_url: HttpUrl('the webhook URL Forgejo posts to'),
    max_body: z.number().int().min(1_024).max(26_214_400).default(1_048_576),
  },
  'secret',
  true,
);

export const AutoscalerScope = withSecret(
  {
    webhook: z
      .strictObject({
        /** Keep exactly one hook of ours in this scope, created and repaired on start and periodically. */
        manage: z.boolean().default(false),
      })
      .prefault({}),
  },
  'token',
  true,
);

export const AutoscalerConfigShape = z.strictObject({
  log: Log,
  forgejo: AutoscalerForgejo,
  dispatcher: DispatcherLink,
  poll: Poll.prefault({}),
  webhook: WebhookReceiver.optional(),
  /** Keys are scopes: instance, org:NAME, user:NAME, repo:OWNER/NAME; each polls with its own token. */
  scopes: z.record(z.string(), AutoscalerScope),
  metrics: z.strictObject({ listen: Listen }).optional(),
});
