import { createServer } from 'node:net';
import { ListenError } from '@forgejo-fleet/runtime';
import { describe, expect, it } from 'vitest';
import { testConfig } from './__fixtures__/config.js';
import { createLogger } from './logger.js';
import { startAutoscaler } from './server.js';

describe('startAutoscaler on a port it cannot have', () => {
  it('rejects with a ListenError naming webhook.listen and the address', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    const config = testConfig({
      scopes: { 'org:acme': { token: 'scope-token' } },
      webhook: { port, publicUrl: 'https://fleet.example.com/hook', secret: 'webhook-secret-0123456789' },
    });

    const started = startAutoscaler({ config, log: createLogger('silent') });

    await expect(started).rejects.toBeInstanceOf(ListenError);
    await expect(started).rejects.toThrow(
      `webhook.listen: cannot listen on 127.0.0.1:${port}: the address is in use`,
    );
    holder.close();
  });
});
