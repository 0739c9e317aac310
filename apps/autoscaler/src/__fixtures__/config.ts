import { type AutoscalerConfig, parseAutoscalerConfig } from '@forgejo-fleet/config';
import { stringify } from 'yaml';

export interface TestConfigOptions {
  readonly forgejoUrl?: string;
  readonly dispatcherUrl?: string;
  /** Scope key → token (and whether its hook is managed). */
  readonly scopes: Record<string, { token: string; manage?: boolean }>;
  readonly webhook?: { port: number; publicUrl: string; secret: string; maxBody?: number };
  readonly metrics?: boolean;
  readonly poll?: Record<string, unknown>;
  readonly routesRefresh?: string;
}

/** An autoscaler config through the real parser; tokens travel as env variables. */
export function testConfig(opts: TestConfigOptions): AutoscalerConfig {
  const env: Record<string, string> = { DISPATCHER_TOKEN: 'dispatcher-token' };
  const scopes: Record<string, unknown> = {};
  let i = 0;
  for (const [key, scope] of Object.entries(opts.scopes)) {
    const name = `SCOPE_TOKEN_${i++}`;
    env[name] = scope.token;
    scopes[key] = { token_env: name, webhook: { manage: scope.manage ?? false } };
  }
  const doc: Record<string, unknown> = {
    log: { level: 'fatal' },
    forgejo: { api_url: opts.forgejoUrl ?? 'http://127.0.0.1:3000', timeout: '5s' },
    dispatcher: {
      url: opts.dispatcherUrl ?? 'http://127.0.0.1:9',
      token_env: 'DISPATCHER_TOKEN',
      routes_refresh: opts.routesRefresh ?? '60s',
    },
    poll: { interval: '5s', jitter: 0, ...opts.poll },
    scopes,
  };
  if (opts.webhook) {
    env.WEBHOOK_SECRET = opts.webhook.secret;
    doc.webhook = {
      listen: { host: '127.0.0.1', port: opts.webhook.port },
      public_url: opts.webhook.publicUrl,
      secret_env: 'WEBHOOK_SECRET',
      ...(opts.webhook.maxBody === undefined ? {} : { max_body: opts.webhook.maxBody }),
    };
  }
  if (opts.metrics) doc.metrics = { listen: { host: '127.0.0.1', port: 0 } };
  return parseAutoscalerConfig(stringify(doc), { file: 'test-autoscaler.yaml', env });
}
