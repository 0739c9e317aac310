import { Hono } from 'hono';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ACME_CI_TOKEN,
  ALICE_TOKEN,
  AUTOSCALER_TOKEN,
  dispatcherHarness,
} from '../../__fixtures__/harness.js';
import { createDispatcherMetrics } from '../../metrics.js';
import { CONTENT_SECURITY_POLICY } from './headers.js';
import { uiRoutes } from './routes.js';
import { SESSION_COOKIE } from './session.js';

const JOB = {
  handle: '0b8f3c52-3d0e-4c11-9d51-3f6b4c2a9e01',
  id: 7,
  attempt: 1,
  repo_id: 1,
  owner_id: 3,
  name: 'build',
};
const ORIGIN = 'http://localhost';

type Harness = Awaited<ReturnType<typeof dispatcherHarness>>;
let world: Harness;
let acmeId: string;

beforeEach(async () => {
  world = await dispatcherHarness();
  const made = await world.request('POST', '/v1/dispatch', {
    scope: 'org:acme',
    labels: ['linux'],
    job: JOB,
  });
  expect(made.status).toBe(202);
  acmeId = ((await made.json()) as { id: string }).id;
  await world.service.drain();
});
afterEach(async () => {
  await world.close();
});

function form(fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN, ...headers },
    body: new URLSearchParams(fields).toString(),
  };
}

async function signIn(token: string): Promise<string> {
  const res = await world.app.request('/ui/sign-in', form({ token }));
  expect(res.status).toBe(303);
  const cookie = /ff_ui_session=([^;]*)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  if (!cookie) throw new Error('no session cookie');
  return `${SESSION_COOKIE}=${cookie}`;
}

async function get(path: string, cookie: string) {
  const res = await world.app.request(path, { headers: { cookie } });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** The CSRF token the page put in its cancel form. */
function csrfOf(pageText: string): string {
  const token = /name="csrf" value="([^"]+)"/.exec(pageText)?.[1];
  if (!token) throw new Error('no csrf field on the page');
  return token;
}

describe('status page security headers', () => {
  it.each(['/ui/sign-in', '/ui', '/ui/dispatches', '/ui/no-such-page', '/ui/style.css'])(
    '%s carries them',
    async (path) => {
      const cookie = await signIn(AUTOSCALER_TOKEN);
      const res = await world.app.request(path, { headers: { cookie } });
      expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('same-origin');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
    },
  );

  it('forbids scripts, inline styles and framing', () => {
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("style-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("form-action 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|script-src/);
  });
});

describe('status page sign-in', () => {
  it('sets an HttpOnly, SameSite=Strict cookie on /ui, without Secure over plain http', async () => {
    const res = await world.app.request('/ui/sign-in', form({ token: ALICE_TOKEN }));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/ui');
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\/ui/);
    expect(cookie).toMatch(/Max-Age=43200/);
    expect(cookie).not.toMatch(/Secure/);
  });

  it.each([
    ['an https request', 'https://fleet.example/ui/sign-in', {}, false, true],
    [
      'X-Forwarded-Proto from a trusted proxy',
      'http://fleet.example/ui/sign-in',
      { 'x-forwarded-proto': 'https' },
      true,
      true,
    ],
    [
      'X-Forwarded-Proto without a trusted proxy',
      'http://fleet.example/ui/sign-in',
      { 'x-forwarded-proto': 'https' },
      false,
      false,
    ],
  ])('Secure for %s: %s', async (_name, url, headers, trustForwardedProto, secure) => {
    const ui = mounted({ trustForwardedProto });
    const res = await ui.request(
      url,
      form({ token: ALICE_TOKEN }, { ...headers, origin: new URL(url).origin, host: new URL(url).host }),
    );
    expect(res.status).toBe(303);
    expect(/;\s*Secure/.test(res.headers.get('set-cookie') ?? '')).toBe(secure);
  });

  it.each([
    ['an unknown token', { token: 'not-a-client-token' }, 401, 'unknown token'],
    ['an empty token', { token: '  ' }, 400, 'enter an API client token'],
    ['no token field', {}, 400, 'expected string'],
  ])('refuses %s without a cookie', async (_name, fields, status, message) => {
    const res = await world.app.request('/ui/sign-in', form(fields));
    expect(res.status).toBe(status);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(await res.text()).toContain(message);
  });

  it('refuses a sign-in posted from another origin', async () => {
    const res = await world.app.request(
      '/ui/sign-in',
      form({ token: ALICE_TOKEN }, { origin: 'https://evil.example' }),
    );
    expect(res.status).toBe(403);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it.each(['/ui', '/ui/dispatches', `/ui/dispatches/x`, '/ui/decisions', '/ui/latency'])(
    'sends %s without a session to the sign-in page',
    async (path) => {
      const res = await world.app.request(path, { headers: { cookie: `${SESSION_COOKIE}=forged` } });
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/ui/sign-in');
    },
  );

  it('signs out with the CSRF token: the cookie is cleared', async () => {
    const cookie = await signIn(ALICE_TOKEN);
    const overview = await get('/ui', cookie);
    const res = await world.app.request('/ui/sign-out', form({ csrf: csrfOf(overview.text) }, { cookie }));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/ui/sign-in');
    expect(res.headers.get('set-cookie')).toMatch(/ff_ui_session=;.*Max-Age=0/);
  });
});

describe('status page cancel and CSRF', () => {
  it.each([
    ['no CSRF field', () => ({})],
    ['a wrong CSRF token', () => ({ csrf: 'AAAA' })],
  ])('refuses a cancel with %s and changes nothing', async (_name, fields) => {
    const cookie = await signIn(ACME_CI_TOKEN);
    const res = await world.app.request(`/ui/dispatches/${acmeId}/cancel`, form(fields(), { cookie }));
    expect(res.status).toBe(403);
    expect((await world.store.get(acmeId))?.state).not.toBe('cancelled');
  });

  it("refuses another session's CSRF token", async () => {
    const mine = await signIn(ACME_CI_TOKEN);
    const theirs = await signIn(AUTOSCALER_TOKEN);
    const theirPage = await get(`/ui/dispatches/${acmeId}`, theirs);
    const res = await world.app.request(
      `/ui/dispatches/${acmeId}/cancel`,
      form({ csrf: csrfOf(theirPage.text) }, { cookie: mine }),
    );
    expect(res.status).toBe(403);
    expect((await world.store.get(acmeId))?.state).not.toBe('cancelled');
  });

  it('refuses a cancel from another origin even with the right token', async () => {
    const cookie = await signIn(ACME_CI_TOKEN);
    const csrf = csrfOf((await get(`/ui/dispatches/${acmeId}`, cookie)).text);
    const res = await world.app.request(
      `/ui/dispatches/${acmeId}/cancel`,
      form({ csrf }, { cookie, origin: 'https://evil.example' }),
    );
    expect(res.status).toBe(403);
    expect((await world.store.get(acmeId))?.state).not.toBe('cancelled');
  });

  it('cancels with the page token and shows the dispatch cancelled', async () => {
    const cookie = await signIn(ACME_CI_TOKEN);
    const csrf = csrfOf((await get(`/ui/dispatches/${acmeId}`, cookie)).text);
    const res = await world.app.request(`/ui/dispatches/${acmeId}/cancel`, form({ csrf }, { cookie }));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/ui/dispatches/${acmeId}`);
    expect((await world.store.get(acmeId))?.state).toBe('cancelled');
    const after = await get(`/ui/dispatches/${acmeId}`, cookie);
    expect(after.text).toContain('<strong>cancelled</strong>');
    expect(after.text).not.toContain('Cancel this dispatch');
  });
});

describe('status page tenant rules', () => {
  it("never lists another scope's dispatch", async () => {
    const alice = await signIn(ALICE_TOKEN);
    const acme = await signIn(ACME_CI_TOKEN);
    expect((await get('/ui/dispatches', acme)).text).toContain(acmeId);
    const list = await get('/ui/dispatches', alice);
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(acmeId);
    expect((await get('/ui/dispatches?scope=org:acme', alice)).text).not.toContain(acmeId);
    expect((await get('/ui/decisions', alice)).text).not.toContain(acmeId);
    expect((await get('/ui', alice)).text).not.toContain(acmeId);
  });

  it("answers another scope's dispatch exactly like an unknown one, and cannot cancel it", async () => {
    const alice = await signIn(ALICE_TOKEN);
    const theirs = await get(`/ui/dispatches/${acmeId}`, alice);
    const unknown = await get('/ui/dispatches/d-does-not-exist', alice);
    expect(theirs.status).toBe(404);
    expect(theirs.text).toBe(unknown.text);
    const csrf = csrfOf(theirs.text);
    const cancel = await world.app.request(
      `/ui/dispatches/${acmeId}/cancel`,
      form({ csrf }, { cookie: alice }),
    );
    expect(cancel.status).toBe(404);
    expect((await world.store.get(acmeId))?.state).not.toBe('cancelled');
  });

  it('shows warm pool counts and refusal counts to fleet-wide clients only', async () => {
    const alice = await signIn(ALICE_TOKEN);
    const text = (await get('/ui', alice)).text;
    expect(text).toContain('shown to fleet-wide clients');
  });
});

describe('status page pages', () => {
  it('renders the overview, the list with filters, one dispatch, the decisions', async () => {
    const cookie = await signIn(AUTOSCALER_TOKEN);
    const overview = await get('/ui', cookie);
    expect(overview.status).toBe(200);
    expect(overview.text).toContain('<meta http-equiv="refresh"');
    expect(overview.text).toContain('href="#main"');
    expect(overview.text).toMatch(/<th scope="row">small<\/th>/);
    const filtered = await get(`/ui/dispatches?state=finished&route=&scope=`, cookie);
    expect(filtered.status).toBe(200);
    expect(filtered.text).not.toContain(acmeId);
    const one = await get(`/ui/dispatches/${acmeId}`, cookie);
    expect(one.text).toContain('Timeline');
    expect(one.text).toContain('<strong>accepted</strong>');
    const decisions = await get('/ui/decisions?limit=5', cookie);
    expect(decisions.status).toBe(200);
    expect(decisions.text).toContain(acmeId);
    expect(decisions.text).toContain('Decisions, newest first');
    const seqs = [...decisions.text.matchAll(/<tr><td class="num">(\d+)<\/td>/g)].map((m) => Number(m[1]));
    expect(seqs).toEqual([...seqs].sort((x, y) => y - x));
    const fromStart = await get('/ui/decisions?after=0&limit=5', cookie);
    expect(fromStart.text).toContain('Decisions, oldest first');
    expect(fromStart.text).toMatch(/<tr><td class="num">1<\/td>/);
    expect((await get('/ui/decisions?after=1&before=5', cookie)).status).toBe(400);
  });

  it.each([
    ['/ui/dispatches?state=sleeping', 'state'],
    ['/ui/dispatches?limit=9999', 'limit'],
    ['/ui/dispatches?colour=red', 'colour'],
    ['/ui/decisions?after=-1', 'after'],
    ['/ui/decisions?limit=500', 'limit'],
  ])('answers %s with a 400 naming %s', async (path, field) => {
    const cookie = await signIn(AUTOSCALER_TOKEN);
    const res = await get(path, cookie);
    expect(res.status).toBe(400);
    expect(res.text).toMatch(new RegExp(`<code>${field}</code>|Unrecognized key: &quot;${field}&quot;`));
  });

  it('draws the latency chart from the registry histograms', async () => {
    const metrics = createDispatcherMetrics(world.store);
    const record = await world.store.get(acmeId);
    if (!record) throw new Error('no record');
    metrics.observer.transition({ ...record, state: 'registering' }, 'accepted', 200);
    metrics.observer.transition({ ...record, state: 'registering' }, 'accepted', 400);
    metrics.observer.transition({ ...record, state: 'booting' }, 'provisioning', 20_000);
    const ui = mounted({ registry: metrics.registry });
    const signed = await ui.request('/ui/sign-in', form({ token: AUTOSCALER_TOKEN }, { host: 'localhost' }));
    const cookie = /ff_ui_session=[^;]*/.exec(signed.headers.get('set-cookie') ?? '')?.[0] ?? '';
    const res = await ui.request('/ui/latency', { headers: { cookie } });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toContain('<svg');
    expect(text).toMatch(/<th scope="row">accepted<\/th><td class="num">2<\/td>/);
    expect(text).toMatch(/<th scope="row">created<\/th><td class="num">1<\/td>/);
  });

  it('leaves fleet-wide counts off the latency table for a scoped client', async () => {
    const metrics = createDispatcherMetrics(world.store);
    const record = await world.store.get(acmeId);
    if (!record) throw new Error('no record');
    metrics.observer.transition({ ...record, state: 'registering' }, 'accepted', 200);
    const ui = mounted({ registry: metrics.registry });
    const signed = await ui.request('/ui/sign-in', form({ token: ALICE_TOKEN }, { host: 'localhost' }));
    const cookie = /ff_ui_session=[^;]*/.exec(signed.headers.get('set-cookie') ?? '')?.[0] ?? '';
    const text = await (await ui.request('/ui/latency', { headers: { cookie } })).text();
    expect(text).toContain('<svg');
    expect(text).not.toContain('>Count<');
  });

  it('shows budget bars: every cap to a * client, only its own scope caps to a scoped one', async () => {
    await world.close();
    world = await dispatcherHarness({
      routeLimits: 'vm_minutes_per_day: 600',
      acmeSettings: 'limits: { vm_minutes_per_day: 120 }',
    });
    const cap = (text: string) =>
      [...text.matchAll(/<th scope="row">((?:routes|scopes)\.[^<]+)<\/th>/g)].map((m) => m[1]);

    const star = (await get('/ui', await signIn(AUTOSCALER_TOKEN))).text;
    const acme = (await get('/ui', await signIn(ACME_CI_TOKEN))).text;
    const alice = (await get('/ui', await signIn(ALICE_TOKEN))).text;

    expect(cap(star)).toEqual([
      'routes.small.limits.vm_minutes_per_day',
      'scopes.org:acme.limits.vm_minutes_per_day',
    ]);
    expect(star).toContain('<meter min="0" max="600"');
    expect(cap(acme)).toEqual(['scopes.org:acme.limits.vm_minutes_per_day']);
    expect(cap(alice)).toEqual([]);
    expect(alice).toContain('No budget applies to your scopes.');
  });

  it('says so when metrics are off', async () => {
    const cookie = await signIn(AUTOSCALER_TOKEN);
    expect((await get('/ui/latency', cookie)).text).toContain('Metrics are off');
  });
});

/** The status page alone, mounted where the app mounts it, with options the harness does not set. */
function mounted(options: {
  trustForwardedProto?: boolean;
  registry?: ReturnType<typeof createDispatcherMetrics>['registry'];
}) {
  return new Hono().route('/ui', uiRoutes({ service: world.service, clients: clients(), ...options }));
}

function clients() {
  return world.config.clients.map((c) => ({ name: c.name, token: c.token.reveal(), scopes: c.scopes }));
}
