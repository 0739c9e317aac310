import { Writable } from 'node:stream';
import { parseDispatcherConfig } from '@forgejo-fleet/config';
import type { MachineChoice } from '@forgejo-fleet/providers';
import { openSqliteStore } from '@forgejo-fleet/store';
import { startFakeForgejo } from '@forgejo-fleet/testkit';
import { createApp } from '../http/app.js';
import { createLogger } from '../logger.js';
import { createDispatchService } from '../service/service.js';
import { forgejoClients } from '../wiring.js';
import { memoryProvider } from './memory-provider.js';
import { fakeClock, sequentialIds } from './world-parts.js';

export const AUTOSCALER_TOKEN = 'client-token-autoscaler-0123456789';
export const ALICE_TOKEN = 'client-token-alice-0123456789';
/** A client limited to org:acme (the tenancy tests' own-scope client). */
export const ACME_CI_TOKEN = 'client-token-acme-ci-0123456789';

/** Fake Forgejo (org acme, user alice), in-memory store and provider, and the real app on top. */
export async function dispatcherHarness(
  options: {
    maxVms?: number;
    globalMaxVms?: number;
    chain?: string[];
    /** `max_instances` of every provider (default 10). */
    maxInstances?: number;
    /** Machine choices per provider name (default: one). */
    choices?: Record<string, MachineChoice[]>;
    /** Extra YAML inside the small route's `limits` flow map, e.g. `vm_minutes_per_day: 10`. */
    routeLimits?: string;
    /** Extra YAML for the acme scope's settings, e.g. `limits: { money_per_day: 1 }`. */
    acmeSettings?: string;
  } = {},
) {
  const forgejo = await startFakeForgejo();
  forgejo.addUser({ name: 'ops' });
  forgejo.addUser({ name: 'alice' });
  const acme = forgejo.addOrg({ name: 'acme', owners: ['ops'] });
  forgejo.addRepo({ owner: 'acme', name: 'web' });
  forgejo.addRepo({ owner: 'alice', name: 'site' });
  const acmeToken = forgejo.addToken({ user: 'ops', scopes: ['write:organization'] });
  const aliceToken = forgejo.addToken({ user: 'alice', scopes: ['write:user'] });
  const chain = options.chain ?? ['local'];

  const config = parseDispatcherConfig(
    `
fleet_id: test
forgejo:
  api_url: ${forgejo.url}
  instance_url: https://git.example.com
  timeout: 5s
limits: { max_vms: ${options.globalMaxVms ?? 1000} }
providers:
${chain.map((name) => `  ${name}:\n    kind: shell\n    command: [/bin/false]\n    cooldown: 1m\n    max_instances: ${options.maxInstances ?? 10}`).join('\n')}
routes:
  - name: small
    labels: [linux, small]
    providers: [${chain.join(', ')}]
    limits: { max_vms: ${options.maxVms ?? 100}${options.routeLimits ? `, ${options.routeLimits}` : ''} }
  - name: gpu
    labels: [linux, gpu, large]
    providers: [${chain.join(', ')}]
scopes:
  org:acme: { forgejo_token_env: ACME${options.acmeSettings ? `, ${options.acmeSettings}` : ''} }
  user:alice: { forgejo_token_env: ALICE }
clients:
  - { name: autoscaler, token_env: C_AUTO, scopes: ['*'] }
  - { name: alice, token_env: C_ALICE, scopes: [user:alice] }
  - { name: acme-ci, token_env: C_ACME_CI, scopes: [org:acme] }
`,
    {
      file: 'test.yaml',
      env: {
        ACME: acmeToken,
        ALICE: aliceToken,
        C_AUTO: AUTOSCALER_TOKEN,
        C_ALICE: ALICE_TOKEN,
        C_ACME_CI: ACME_CI_TOKEN,
      },
    },
  );

  let logText = '';
  const log = createLogger(
    'debug',
    new Writable({
      write(chunk, _enc, done) {
        logText += String(chunk);
        done();
      },
    }),
  );
  const providers = new Map(chain.map((name) => [name, memoryProvider(name, options.choices?.[name])]));
  const store = openSqliteStore(':memory:');
  const time = fakeClock();
  const service = createDispatchService({
    config,
    store,
    clock: time.clock,
    newId: sequentialIds(),
    log,
    forgejoFor: forgejoClients(config),
    providerFor: (name) => {
      const p = providers.get(name);
      if (!p) throw new Error(`no provider ${name}`);
      return p.provider;
    },
  });
  const app = createApp({
    service,
    clients: config.clients.map((c) => ({ name: c.name, token: c.token.reveal(), scopes: c.scopes })),
    log,
    newRequestId: () => 'req',
  });

  return {
    app,
    service,
    store,
    forgejo,
    acmeId: acme.id,
    config,
    providers,
    provider: providers.get(chain[0] ?? 'local') ?? memoryProvider(),
    secrets: [acmeToken, aliceToken, AUTOSCALER_TOKEN, ALICE_TOKEN, ACME_CI_TOKEN],
    logs: () => logText,
    advance: time.advance,
    request(method: string, path: string, body?: unknown, token: string | null = AUTOSCALER_TOKEN) {
      const headers: Record<string, string> = {};
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      return app.request(path, {
        method,
        headers,
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
    },
    async close() {
      await service.drain();
      await store.close();
      await forgejo.close();
    },
  };
}
