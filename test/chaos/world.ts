/**
 * The fake Forgejo and both services' configs of a chaos run: three scopes (an org, a user and one
 * of the user's repositories, which overlap), hooks managed for two of them, a route over two
 * providers with two machine choices and one.
 */
import { type AutoscalerConfig, parseAutoscalerConfig, parseDispatcherConfig } from '@forgejo-fleet/config';
import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';
import { stringify } from 'yaml';

export const FLEET_ID = 'chaos';
export const CLIENT_TOKEN = 'chaos-client-token-0123456789';
export const WEBHOOK_SECRET = 'chaos-webhook-secret';
export const REPOS = ['acme/web', 'acme/api', 'alice/site', 'alice/blog'] as const;
/** Virtual ms between two reconcile passes (the dispatcher's `reconcile.interval`). */
export const RECONCILE_MS = 10_000;
export const ORPHAN_GRACE_MS = 120_000;

export async function seedForgejo(now: () => number, onActivity: () => void) {
  const forgejo: RunningFakeForgejo = await startFakeForgejo({ now, log: onActivity });
  forgejo.addUser({ name: 'ops' });
  forgejo.addUser({ name: 'alice' });
  forgejo.addOrg({ name: 'acme', owners: ['ops'] });
  for (const repo of REPOS) {
    const [owner = '', name = ''] = repo.split('/');
    forgejo.addRepo({ owner, name });
  }
  const tokens = {
    ops: forgejo.addToken({ user: 'ops', scopes: ['write:organization'] }),
    alice: forgejo.addToken({ user: 'alice', scopes: ['write:user', 'write:repository'] }),
  };
  return { forgejo, tokens };
}

export function dispatcherConfig(forgejoUrl: string, tokens: { ops: string; alice: string }, dbPath: string) {
  return parseDispatcherConfig(
    stringify({
      fleet_id: FLEET_ID,
      listen: { host: '127.0.0.1', port: 0 },
      store: { path: dbPath },
      forgejo: { api_url: forgejoUrl, instance_url: forgejoUrl, timeout: '1s' },
      reconcile: { interval: `${RECONCILE_MS / 1000}s`, orphan_grace: `${ORPHAN_GRACE_MS / 1000}s` },
      limits: { max_vms: 5000 },
      providers: {
        'cloud-a': {
          kind: 'shell',
          command: ['/bin/false'],
          cooldown: '30s',
          create_concurrency: 20,
          max_instances: 100_000,
        },
        'cloud-b': {
          kind: 'shell',
          command: ['/bin/false'],
          cooldown: '30s',
          create_concurrency: 20,
          max_instances: 100_000,
        },
      },
      routes: [
        {
          name: 'linux',
          labels: ['linux'],
          providers: ['cloud-a', 'cloud-b'],
          limits: { max_vms: 5000 },
          timeouts: { boot: '1m', pickup: '2m', job: '1h', max_lifetime: '2h', pickup_retries: 1 },
        },
      ],
      scopes: {
        'org:acme': { forgejo_token_env: 'OPS' },
        'user:alice': { forgejo_token_env: 'ALICE' },
        'repo:alice/site': { forgejo_token_env: 'ALICE' },
      },
      clients: [{ name: 'autoscaler', token_env: 'CLIENT', scopes: ['*'] }],
    }),
    { file: 'chaos-dispatcher.yaml', env: { OPS: tokens.ops, ALICE: tokens.alice, CLIENT: CLIENT_TOKEN } },
  );
}

export function autoscalerConfig(
  forgejoUrl: string,
  tokens: { ops: string; alice: string },
  webhook: { port: number; publicUrl: string },
): AutoscalerConfig {
  return parseAutoscalerConfig(
    stringify({
      log: { level: 'error' },
      forgejo: { api_url: forgejoUrl, timeout: '1s' },
      // The dispatcher is reached in-process; the URL only has to parse.
      dispatcher: { url: 'http://127.0.0.1:9', token_env: 'CLIENT', timeout: '2s', routes_refresh: '60s' },
      poll: { interval: '15s', jitter: 0.2, fast_interval: '1s', fast_window: '10s' },
      webhook: {
        listen: { host: '127.0.0.1', port: webhook.port },
        public_url: webhook.publicUrl,
        secret_env: 'SECRET',
      },
      scopes: {
        'org:acme': { token_env: 'OPS', webhook: { manage: true } },
        'user:alice': { token_env: 'ALICE' },
        'repo:alice/site': { token_env: 'ALICE', webhook: { manage: true } },
      },
    }),
    {
      file: 'chaos-autoscaler.yaml',
      env: { OPS: tokens.ops, ALICE: tokens.alice, CLIENT: CLIENT_TOKEN, SECRET: WEBHOOK_SECRET },
    },
  );
}
