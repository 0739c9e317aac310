import type { AutoscalerConfig } from '@forgejo-fleet/config';
import type { Clock } from '@forgejo-fleet/runtime';
import type { Logger } from 'pino';
import { type Listener, listen } from '../listen.js';
import type { Metrics } from '../metrics.js';
import { createOpsApp } from '../ops/app.js';
import type { ScopeState } from '../scopes/scope-state.js';
import { createHookManager, type HookManager } from '../webhook/manager.js';
import { createReceiverApp, type WebhookSignal } from '../webhook/receiver.js';

export interface OpenListeners {
  readonly listeners: readonly Listener[];
  readonly webhookUrl: string | undefined;
  readonly opsUrl: string | undefined;
  /** Present when a webhook receiver is configured: it keeps the managed hooks in place. */
  readonly hooks: HookManager | undefined;
}

/**
 * The webhook receiver (with the health checks when there is no metrics listener) and the ops
 * listener, as configured. If one cannot listen, the ones already open are closed again.
 */
export async function openListeners(deps: {
  readonly config: AutoscalerConfig;
  readonly scopes: readonly ScopeState[];
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly log: Logger;
  readonly routesLoaded: () => boolean;
  readonly onSignal: (delivery: WebhookSignal) => boolean;
}): Promise<OpenListeners> {
  const { config, scopes, metrics, log, routesLoaded } = deps;
  const listeners: Listener[] = [];
  let webhookUrl: string | undefined;
  let opsUrl: string | undefined;
  let hooks: HookManager | undefined;
  try {
    const webhook = config.webhook;
    if (webhook) {
      const receiver = createReceiverApp({
        secret: webhook.secret.reveal(),
        maxBody: webhook.max_body,
        path: new URL(webhook.public_url).pathname,
        clock: deps.clock,
        metrics,
        log: log.child({ component: 'webhook' }),
        onSignal: deps.onSignal,
      });
      // Without a metrics listener, health checks live here; metrics stay off the public listener.
      if (!config.metrics) receiver.route('/', createOpsApp({ scopes, routesLoaded }));
      const listener = await listen(receiver.fetch, webhook.listen, 'webhook.listen');
      listeners.push(listener);
      webhookUrl = listener.url;
      hooks = createHookManager({
        scopes,
        publicUrl: webhook.public_url,
        secret: webhook.secret.reveal(),
        metrics,
        log: log.child({ component: 'hooks' }),
      });
    }
    if (config.metrics) {
      const ops = createOpsApp({ scopes, registry: metrics.registry, routesLoaded });
      const listener = await listen(ops.fetch, config.metrics.listen, 'metrics.listen');
      listeners.push(listener);
      opsUrl = listener.url;
    }
  } catch (error) {
    await Promise.all(listeners.map((l) => l.close()));
    throw error;
  }
  return { listeners, webhookUrl, opsUrl, hooks };
}
