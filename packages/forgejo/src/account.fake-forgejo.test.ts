import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createForgejoClient } from './client.js';
import { ForgejoApiError } from './errors.js';

let fake: RunningFakeForgejo;
beforeEach(async () => {
  fake = await startFakeForgejo();
  fake.addUser({ name: 'alice' });
  fake.addOrg({ name: 'acme', owners: ['alice'] });
  fake.addRepo({ owner: 'acme', name: 'app' });
});
afterEach(() => fake.close());

function client(scopes: string[]) {
  return createForgejoClient({
    apiUrl: fake.url,
    token: fake.addToken({ user: 'alice', scopes }),
    retry: { attempts: 1 },
  });
}

describe('account lookups', () => {
  it('resolves the ids behind repository, organization and token-owner names', async () => {
    const forgejo = client(['read:repository', 'read:organization', 'read:user']);
    const repo = await forgejo.getRepo('acme', 'app');
    const org = await forgejo.getOrg('acme');
    expect(repo).toMatchObject({ name: 'app', full_name: 'acme/app', owner: { login: 'acme' } });
    expect(repo?.owner.id).toBe(org?.id);
    expect(await forgejo.getCurrentUser()).toMatchObject({ login: 'alice' });
  });

  it('answers undefined for names that do not exist and throws on a rejected token scope', async () => {
    const forgejo = client(['read:repository']);
    expect(await forgejo.getRepo('acme', 'missing')).toBeUndefined();
    await expect(forgejo.getOrg('acme')).rejects.toMatchObject({ status: 403 });
    await expect(forgejo.getCurrentUser()).rejects.toBeInstanceOf(ForgejoApiError);
  });
});
