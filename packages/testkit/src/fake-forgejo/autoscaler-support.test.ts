import { afterEach, describe, expect, it } from 'vitest';
import { startReceiver } from './__fixtures__/receiver.js';
import { startFakeForgejo } from './server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function world() {
  const fake = await startFakeForgejo();
  cleanups.push(() => fake.close());
  fake.addUser({ name: 'alice' });
  fake.addOrg({ name: 'acme', owners: ['alice'] });
  const repo = fake.addRepo({ owner: 'acme', name: 'web' });
  const token = fake.addToken({
    user: 'alice',
    scopes: ['read:organization', 'read:repository', 'read:user'],
  });
  const get = async (path: string, t = token) => {
    const res = await fetch(`${fake.url}/api/v1${path}`, { headers: { authorization: `token ${t}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return { fake, repo, token, get };
}

describe('account lookups', () => {
  it('answers GET /repos/{owner}/{repo}, /orgs/{org} and /user with the ids behind the names', async () => {
    const { repo, get } = await world();
    expect(await get('/repos/ACME/web')).toMatchObject({
      status: 200,
      body: { id: repo.id, name: 'web', full_name: 'acme/web', owner: { id: repo.ownerId, login: 'acme' } },
    });
    expect(await get('/orgs/acme')).toMatchObject({
      status: 200,
      body: { id: repo.ownerId, username: 'acme' },
    });
    expect((await get('/user')).body).toMatchObject({ login: 'alice' });
  });

  it('answers 404 for unknown names and 403 without the token scope', async () => {
    const { fake, get } = await world();
    expect((await get('/repos/acme/nope')).status).toBe(404);
    expect((await get('/orgs/alice')).status).toBe(404);
    const narrow = fake.addToken({ user: 'alice', scopes: ['read:user'] });
    expect((await get('/orgs/acme', narrow)).status).toBe(403);
  });
});

describe('delivery faults', () => {
  it('drops the deliveries `drop` picks and sends every other one twice with the same delivery id', async () => {
    const { fake } = await world();
    const receiver = await startReceiver();
    cleanups.push(receiver.close);
    const admin = fake.addToken({ user: 'alice', scopes: ['write:organization'] });
    const res = await fetch(`${fake.url}/api/v1/orgs/acme/hooks`, {
      method: 'POST',
      headers: { authorization: `token ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'forgejo',
        config: { url: receiver.url, content_type: 'json', secret: 's' },
        events: ['push', 'pull_request'],
        active: true,
      }),
    });
    expect(res.status).toBe(201);
    fake.setDeliveryFaults({ duplicate: true, drop: (n) => n === 2 });
    await fake.emitPush('acme/web');
    await fake.emitPush('acme/web');
    await fake.emitPullRequest('acme/web');
    await fake.settleDeliveries();

    const ids = receiver.received.map((r) => r.headers['x-forgejo-delivery']);
    expect(ids).toHaveLength(4);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).toBe(ids[3]);
    expect(receiver.received[2]?.headers['x-forgejo-event']).toBe('pull_request');
    expect(fake.deliveries().filter((d) => d.error === 'dropped by fault injection')).toHaveLength(1);

    fake.setDeliveryFaults(null);
    await fake.emitPush('acme/web');
    await fake.settleDeliveries();
    expect(receiver.received).toHaveLength(5);
  });
});
