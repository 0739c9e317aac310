import { Secret } from '@forgejo-fleet/runtime/config';
import { virtualClock } from '@forgejo-fleet/runtime/testing';
import { startFakeHetzner } from '@forgejo-fleet/testkit';
import { Agent } from 'undici';
import { describeProviderConformance } from '../conformance/index.js';
import type { ProviderErrorClass } from '../provider.js';
import { createHetznerProvider } from './index.js';

const CODE_BY_CLASS: Readonly<Record<ProviderErrorClass, string>> = {
  capacity: 'resource_unavailable',
  quota: 'resource_limit_exceeded',
  'rate-limited': 'rate_limit_exceeded',
  transient: 'server_error',
  fatal: 'invalid_input',
};

describeProviderConformance(
  'hetzner (fake Hetzner Cloud API)',
  async () => {
    const clock = virtualClock();
    const fake = await startFakeHetzner({ now: clock.now });
    const agent = new Agent();
    const provider = createHetznerProvider(
      'hetzner-conformance',
      {
        endpoint: fake.url,
        token: new Secret(fake.token, 'test'),
        server_types: ['cpx22', 'cx23'],
        locations: ['fsn1', 'nbg1'],
        image: 'ubuntu-24.04',
        ssh_keys: [],
        firewalls: [],
        networks: [],
        public_net: { ipv4: true, ipv6: true },
        hourly_prices: undefined,
      },
      undefined,
      { dispatcher: agent, clock },
    );
    return {
      provider,
      async cleanup() {
        await agent.close();
        await fake.close();
      },
      userDataOf: async (instance) => fake.server(instance.id)?.userData,
      rebuildsOf: async (instance) => fake.server(instance.id)?.rebuilds.length ?? 0,
      stallNextRebuild: () =>
        fake.injectActionFault({ command: 'rebuild_server', outcome: 'hang', times: 1 }),
      injectError(errorClass, choice) {
        const code = CODE_BY_CLASS[errorClass];
        // 429s are waited out and retried by the client (3 attempts) before they are reported.
        const times = errorClass === 'rate-limited' ? 3 : 1;
        if (errorClass === 'rate-limited')
          fake.injectFault({ method: 'POST', path: '/servers', code, times });
        else
          fake.injectCreateError({
            serverType: choice.machine,
            location: choice.location ?? '',
            code,
            times,
          });
      },
    };
  },
  { unknownId: '999999999' },
);
