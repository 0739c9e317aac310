/**
 * The status page in a real browser: Debian's chromium, driven by playwright-core (no browser
 * download). Signs in as a client limited to org:acme, walks every page, cancels a dispatch, checks
 * that org:beta's dispatch never shows (list and direct URL), signs out; screenshots go to
 * test-output/ui/. CI installs chromium (.ci/run) and fails here without it; locally it skips.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDispatcherConfig } from '@forgejo-fleet/config';
import { createLogger, type RunningDispatcher, startDispatcher } from '@forgejo-fleet/dispatcher';
import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
const inCi = process.env.FORGEJO_FLEET_CI === '1';
const root = fileURLToPath(new URL('../../', import.meta.url));
const shots = join(root, 'test-output', 'ui');
const ACME_TOKEN = 'ui-client-acme-0123456789';
const BETA_TOKEN = 'ui-client-beta-0123456789';

describe('status page in chromium', () => {
  // CI installs chromium (.ci/run): there a missing one is a failure, never a silent skip.
  it.runIf(inCi)('has chromium in CI', () => {
    expect(present, `${CHROMIUM} missing: .ci/run installs the Debian chromium package`).toBe(true);
  });

  describe.skipIf(!present)(`browser walk${present ? '' : ' (skipped: apt-get install chromium)'}`, () => {
    let forgejo: RunningFakeForgejo;
    let dispatcher: RunningDispatcher;
    let work: string;
    let context: BrowserContext;
    let page: Page;
    let acmeId: string;
    let betaId: string;
    const cspViolations: string[] = [];

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'fleet-ui-'));
      mkdirSync(shots, { recursive: true });
      forgejo = await startFakeForgejo();
      forgejo.addUser({ name: 'ops' });
      forgejo.addOrg({ name: 'acme', owners: ['ops'] });
      forgejo.addOrg({ name: 'beta', owners: ['ops'] });
      forgejo.addRepo({ owner: 'acme', name: 'web' });
      forgejo.addRepo({ owner: 'beta', name: 'api' });
      const token = forgejo.addToken({ user: 'ops', scopes: ['write:organization'] });
      const config = parseDispatcherConfig(
        `
fleet_id: ui
listen: { host: 127.0.0.1, port: 0 }
store: { path: ${join(work, 'dispatcher.db')}, decision_log: ${join(work, 'decisions.jsonl')} }
forgejo: { api_url: ${forgejo.url}, instance_url: ${forgejo.url}, token_env: FORGEJO_TOKEN }
providers:
  local:
    kind: shell
    command: [${join(root, 'scripts/providers/local.sh')}]
    timeout: 30s
    env: { FORGEJO_FLEET_LOCAL_STATE: ${join(work, 'state')}, FAKE_RUNNER_JOB_MS: '120000' }
routes:
  - name: small
    labels: [linux]
    providers: [local]
    timeouts: { job: 5m, max_lifetime: 30m }
scopes:
  org:acme: {}
  org:beta: {}
clients:
  - { name: acme-ops, token_env: ACME_TOKEN, scopes: [org:acme] }
  - { name: beta-ops, token_env: BETA_TOKEN, scopes: [org:beta] }
`,
        { file: 'ui.yaml', env: { FORGEJO_TOKEN: token, ACME_TOKEN, BETA_TOKEN } },
      );
      dispatcher = await startDispatcher({ config, log: createLogger('silent'), reconcileIntervalMs: 200 });
      acmeId = await dispatch(forgejo, dispatcher, ACME_TOKEN, 'acme/web', 'org:acme');
      betaId = await dispatch(forgejo, dispatcher, BETA_TOKEN, 'beta/api', 'org:beta');

      context = await chromium.launchPersistentContext(join(work, 'profile'), {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      page = context.pages()[0] ?? (await context.newPage());
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
      });
    }, 60_000);

    afterAll(async () => {
      await context?.close();
      await dispatcher?.close();
      await forgejo?.close();
      rmSync(work, { recursive: true, force: true });
    });

    it('signs in, walks every page, cancels, never shows another scope, signs out', async () => {
      const base = `${dispatcher.url}/ui`;

      // Unsigned: sent to the sign-in form; the skip link is the first thing the keyboard reaches.
      await page.goto(base);
      expect(new URL(page.url()).pathname).toBe('/ui/sign-in');
      await page.keyboard.press('Tab');
      expect(await page.locator(':focus').textContent()).toBe('Skip to content');
      await page.getByLabel('API client token').fill(ACME_TOKEN);
      await page.screenshot({ path: join(shots, 'sign-in.png'), fullPage: true });
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => new URL(page.url()).pathname).toBe('/ui');

      // Overview.
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Overview');
      expect(await page.getByRole('row', { name: /small/ }).count()).toBeGreaterThan(0);
      expect(await page.content()).not.toContain(betaId);
      await page.screenshot({ path: join(shots, 'overview.png'), fullPage: true });

      // Dispatches: ours listed, beta's never (not even filtered by its scope).
      await page.getByRole('link', { name: 'Dispatches', exact: true }).click();
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Dispatches');
      expect(await page.getByRole('link', { name: acmeId }).count()).toBe(1);
      expect(await page.content()).not.toContain(betaId);
      await page.screenshot({ path: join(shots, 'dispatches.png'), fullPage: true });
      await page.getByLabel('Scope').fill('org:beta');
      await page.getByRole('button', { name: 'Filter' }).click();
      await expect.poll(() => page.url()).toContain('scope=org%3Abeta');
      expect(await page.content()).not.toContain(betaId);
      expect(await page.getByText('No dispatches match.').count()).toBe(1);

      // Another scope's dispatch by URL: the 404 page.
      const theirs = await page.goto(`${base}/dispatches/${betaId}`);
      expect(theirs?.status()).toBe(404);
      expect(await page.getByText('No such dispatch.').count()).toBe(1);
      expect(await page.content()).not.toContain('org:beta');

      // One dispatch, then cancel it.
      await page.goto(`${base}/dispatches`);
      await page.getByRole('link', { name: acmeId }).click();
      await expect
        .poll(() => page.getByRole('heading', { level: 1 }).textContent())
        .toBe(`Dispatch ${acmeId}`);
      expect(await page.getByRole('heading', { name: 'Timeline' }).count()).toBe(1);
      expect(await page.getByRole('heading', { name: 'Why' }).count()).toBe(1);
      await page.screenshot({ path: join(shots, 'dispatch.png'), fullPage: true });
      await page.getByRole('button', { name: 'Cancel this dispatch' }).click();
      await expect
        .poll(() => page.locator('ol.timeline').textContent(), { timeout: 15_000 })
        .toContain('cancelled');
      expect(await page.getByRole('button', { name: 'Cancel this dispatch' }).count()).toBe(0);
      await page.screenshot({ path: join(shots, 'dispatch-cancelled.png'), fullPage: true });

      // Decision stream and latency chart.
      await page.getByRole('link', { name: 'Decisions' }).click();
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Decision stream');
      expect(await page.content()).toContain(acmeId);
      expect(await page.content()).not.toContain(betaId);
      await page.screenshot({ path: join(shots, 'decisions.png'), fullPage: true });
      await page.getByRole('link', { name: 'Latency' }).click();
      await expect
        .poll(() => page.getByRole('heading', { level: 1 }).textContent())
        .toBe('Per-phase latency');
      expect(await page.locator('svg[role="img"]').count()).toBe(1);
      await page.screenshot({ path: join(shots, 'latency.png'), fullPage: true });

      // Sign out: the cookie is gone, the pages send us back to sign in.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await expect.poll(() => new URL(page.url()).pathname).toBe('/ui/sign-in');
      expect(await context.cookies()).toEqual([]);
      await page.goto(`${base}/dispatches`);
      expect(new URL(page.url()).pathname).toBe('/ui/sign-in');

      expect(cspViolations).toEqual([]);
    }, 60_000);
  });
});

/** A job queued in Forgejo and dispatched through the API by that scope's client. */
async function dispatch(
  forgejo: RunningFakeForgejo,
  dispatcher: RunningDispatcher,
  token: string,
  repo: string,
  scope: string,
): Promise<string> {
  const job = forgejo.enqueueJob({ repo, name: 'build', runsOn: ['linux'] });
  const res = await fetch(`${dispatcher.url}/v1/dispatch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      scope,
      labels: ['linux'],
      job: { handle: job.handle, id: job.id, attempt: job.attempt, repo_id: 1, owner_id: 1, name: 'build' },
    }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}
