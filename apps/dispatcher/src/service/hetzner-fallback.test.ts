import { parseDispatcherConfig } from '@forgejo-fleet/config';
import { createProvider, type Provider } from '@forgejo-fleet/providers';
import { openSqliteStore } from '@forgejo-fleet/store';
import {
  type RunningFakeForgejo,
  type RunningFakeHetzner,
  startFakeForgejo,
  startFakeHetzner,
} from '@forgejo-fleet/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seedAcme, sequentialIds } from '../__fixtures__/world-parts.js';
import { createLogger } from '../logger.js';
import { forgejoClients } from '../wiring.js';
import { createDispatchService, type DispatchService } from './service.js';

const CALLER = { name: 'autoscaler', scopes: '*' as const };

let forgejo: RunningFakeForgejo;
let hetzner: RunningFakeHetzner;
let service: DispatchService;
let provider: Provider;
const clock = Date.parse('2026-11-23T10:00:00Z');

beforeEach(async () => {
  forgejo = await startFakeForgejo();
  hetzner = await startFakeHetzner({ now: () => clock, rateLimit: false });
  const { token } = seedAcme(forgejo);
  const config = parseDispatcherConfig(
    `
fleet_id: hz
forgejo: { api_url: ${forgejo.url}, instance_url: https://git.example.com, token_env: FT }
providers:
  hetzner:
    kind: hetzner
    endpoint: ${hetzner.url}
    token_env: HT
    server_types: [cpx22]
    locations: [fsn1, nbg1, hel1]
    image: ubuntu-24.04
    cooldown: 2m
routes:
  - { name: small, labels: [linux], providers: [hetzner] }
scopes:
  org:acme: {}
clients:
  - { name: autoscaler, token_env: CT, scopes: ['*'] }
`,
    { file: 'hz.yaml', env: { FT: token, HT: hetzner.token, CT: 'client-token-0123456789' } },
  );
  const hz = config.providers.hetzner;
  if (hz === undefined) throw new Error('no provider');
  provider = createProvider('hetzner', hz);
  service = createDispatchService({
    config,
    store: openSqliteStore(':memory:'),
    clock: { now: () => clock, sleep: async () => undefined },
    newId: sequentialIds(),
    log: createLogger('silent'),
    forgejoFor: forgejoClients(config),
    providerFor: () => provider,
  });
});

afterEach(async () => {
  await service.drain();
  await hetzner.close();
  await forgejo.close();
});

describe('dispatcher + Hetzner provider + fake Hetzner Cloud', () => {
  it('gets the job a VM from the third location when the first two answer resource_unavailable', async () => {
    hetzner.injectCreateError({ location: 'fsn1', code: 'resource_unavailable' });
    hetzner.injectCreateError({ location: 'nbg1', code: 'resource_unavailable' });
    const job = forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });

    const { record } = await service.dispatch(
      {
        scope: 'org:acme',
        labels: ['linux'],
        job: { handle: job.handle, id: job.id, attempt: 1, repo_id: 1, owner_id: 1, name: 'build' },
      },
      CALLER,
    );
    await service.drain();

    const servers = hetzner.servers();
    expect(servers.map((s) => s.location)).toEqual(['hel1']);
    const done = await service.get(record.id);
    expect(done).toMatchObject({
      state: 'booting',
      machine: 'cpx22@hel1',
      instance_id: String(servers[0]?.id),
    });
    const attempts = await service.decisions({ dispatch_id: record.id, limit: 10 });
    expect(attempts.map((d) => [d.kind, d.choice, d.error_class])).toEqual([
      ['fallback', 'cpx22@fsn1', 'capacity'],
      ['fallback', 'cpx22@nbg1', 'capacity'],
      ['create', 'cpx22@hel1', null],
    ]);
    // The two locations are cooling down: `why` says so, and the next job goes straight to hel1.
    const { text } = await service.why(record.id);
    expect(text).toMatch(/hetzner cpx22@fsn1 cooling down until 2026-11-23T10:02:00\.000Z/);
    expect(text).toMatch(/hetzner cpx22@nbg1 cooling down until 2026-11-23T10:02:00\.000Z/);
    const creates = () =>
      hetzner.calls().filter((c) => c.method === 'POST' && c.path === '/v1/servers').length;
    const before = creates();
    hetzner.clearFaults();
    const second = forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });
    await service.dispatch(
      {
        scope: 'org:acme',
        labels: ['linux'],
        job: { handle: second.handle, id: second.id, attempt: 1, repo_id: 1, owner_id: 1, name: 'build' },
      },
      CALLER,
    );
    await service.drain();
    expect(creates() - before).toBe(1);
    expect(hetzner.servers().map((s) => s.location)).toEqual(['hel1', 'hel1']);
  });
});
