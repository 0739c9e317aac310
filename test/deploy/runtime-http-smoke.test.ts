import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDispatcherConfig } from '@forgejo-fleet/config';
import { createLogger, type RunningDispatcher, startDispatcher } from '@forgejo-fleet/dispatcher';
import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools } from './tools.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const CLIENT_TOKEN = 'smoke-client-token-0123456789abcdef';
const missing = missingTools(['bash', 'curl', 'jq']);

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a script with exactly `env` (plus PATH), never throwing: the exit code is part of the answer. */
function runScript(script: string, env: Record<string, string>, args: string[] = []): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      join(root, script),
      args,
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

let forgejo: RunningFakeForgejo;
let dispatcher: RunningDispatcher;
let work: string;
let tokenFile: string;

describe.skipIf(missing.length > 0)(
  `runtime-http-smoke.sh and smoke-live.sh against an in-process dispatcher${missing.length > 0 ? ` (skipped: ${missing.join(', ')} not installed)` : ''}`,
  () => {
    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'fleet-http-smoke-'));
      tokenFile = join(work, 'client-token');
      writeFileSync(tokenFile, `${CLIENT_TOKEN}\n`, { mode: 0o600 });
      forgejo = await startFakeForgejo();
      forgejo.addUser({ name: 'ops' });
      forgejo.addOrg({ name: 'acme', owners: ['ops'] });
      forgejo.addRepo({ owner: 'acme', name: 'web' });
      const token = forgejo.addToken({ user: 'ops', scopes: ['write:organization'] });
      const config = parseDispatcherConfig(
        `
fleet_id: http-smoke
listen: { host: 127.0.0.1, port: 0 }
store: { path: ${join(work, 'dispatcher.db')}, decision_log: ${join(work, 'decisions.jsonl')} }
forgejo: { api_url: ${forgejo.url}, instance_url: ${forgejo.url}, token_env: FORGEJO_TOKEN }
providers:
  local:
    kind: shell
    command: [${join(root, 'scripts/providers/local.sh')}]
    timeout: 30s
    env: { FORGEJO_FLEET_LOCAL_STATE: ${join(work, 'vms')}, FAKE_RUNNER_JOB_MS: '200' }
routes:
  - { name: small, labels: [linux, small], providers: [local] }
scopes:
  org:acme: {}
clients:
  - { name: smoke, token_file: ${tokenFile}, scopes: ['*'] }
`,
        { file: 'http-smoke.yaml', env: { FORGEJO_TOKEN: token } },
      );
      dispatcher = await startDispatcher({ config, log: createLogger('silent'), reconcileIntervalMs: 100 });
    });

    afterAll(async () => {
      await dispatcher?.close();
      await forgejo?.close();
      rmSync(work, { recursive: true, force: true });
    });

    function smokeEnv(extra: Record<string, string> = {}): Record<string, string> {
      return {
        DISPATCHER_URL: dispatcher.url,
        DISPATCHER_TOKEN_FILE: tokenFile,
        ...extra,
      };
    }

    it('passes every read-only check against a healthy dispatcher, without printing the token', async () => {
      const run = await runScript('scripts/runtime-http-smoke.sh', smokeEnv());

      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      for (const check of [
        'GET /healthz',
        'GET /readyz',
        'GET /openapi.json',
        'GET /v1/routes',
        'GET /v1/dispatches',
        'GET /v1/budgets',
      ]) {
        expect(run.stdout).toContain(`ok   ${check}`);
      }
      expect(run.stdout).toContain('refuses a missing or wrong token (401)');
      expect(run.stdout).toContain('small [linux,small]');
      expect(run.stdout).not.toContain(CLIENT_TOKEN);
    });

    it('checks /metrics (Prometheus text) unless SMOKE_METRICS=skip', async () => {
      const checked = await runScript('scripts/runtime-http-smoke.sh', smokeEnv());
      const skipped = await runScript('scripts/runtime-http-smoke.sh', smokeEnv({ SMOKE_METRICS: 'skip' }));

      expect(checked.stdout).toMatch(/ok {3}GET \S+\/metrics \(\d+ metrics\)/);
      expect(skipped.code).toBe(0);
      expect(skipped.stdout).toContain('skip GET /metrics (SMOKE_METRICS=skip)');
    });

    it('dispatches with SMOKE_DISPATCH=1, cancels, and leaves no VM and no runner registration', async () => {
      const run = await runScript(
        'scripts/runtime-http-smoke.sh',
        smokeEnv({ SMOKE_DISPATCH: '1', SMOKE_SCOPE: 'org:acme', SMOKE_LABELS: 'linux, small' }),
      );

      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/ok {3}POST \/v1\/dispatch → \S+ on route small/);
      expect(run.stdout).toMatch(/ok {3}DELETE \/v1\/dispatches\/\S+ → cancelled|already over/);
      const { items } = (await (
        await fetch(`${dispatcher.url}/v1/dispatches`, {
          headers: { authorization: `Bearer ${CLIENT_TOKEN}` },
        })
      ).json()) as { items: { state: string }[] };
      expect(items.map((d) => d.state)).not.toContain('provisioning');
      expect(forgejo.runners().filter((r) => !r.deleted)).toEqual([]);
      const instances = join(work, 'vms', 'instances');
      expect(existsSync(instances) ? readdirSync(instances) : []).toEqual([]);
    });

    it('checks /healthz, /readyz and /metrics on the ops listener with the ops token (OPS_URL, OPS_TOKEN_FILE)', async () => {
      const opsTokenFile = join(work, 'ops-token');
      writeFileSync(opsTokenFile, 'ops-token-0123456789abcdef\n', { mode: 0o600 });
      const opsConfig = parseDispatcherConfig(
        `
fleet_id: http-smoke-ops
listen: { host: 127.0.0.1, port: 0 }
ops: { listen: { host: 127.0.0.1, port: 0 }, token_file: ${opsTokenFile} }
store: { path: ${join(work, 'ops.db')}, decision_log: ${join(work, 'ops-decisions.jsonl')} }
forgejo: { api_url: ${forgejo.url}, instance_url: ${forgejo.url}, token_env: FORGEJO_TOKEN }
providers:
  local: { kind: shell, command: [${join(root, 'scripts/providers/local.sh')}], timeout: 30s }
routes:
  - { name: small, labels: [linux, small], providers: [local] }
scopes:
  org:acme: {}
clients:
  - { name: smoke, token_file: ${tokenFile}, scopes: ['*'] }
`,
        {
          file: 'http-smoke-ops.yaml',
          env: { FORGEJO_TOKEN: forgejo.addToken({ user: 'ops', scopes: ['write:organization'] }) },
        },
      );
      const withOps = await startDispatcher({ config: opsConfig, log: createLogger('silent') });
      try {
        const env = {
          DISPATCHER_URL: withOps.url,
          DISPATCHER_TOKEN_FILE: tokenFile,
          OPS_URL: withOps.opsUrl ?? '',
        };
        const passed = await runScript('scripts/runtime-http-smoke.sh', {
          ...env,
          OPS_TOKEN_FILE: opsTokenFile,
        });
        const refused = await runScript('scripts/runtime-http-smoke.sh', env);
        const { OPS_URL: _ops, ...withoutOpsUrl } = env;
        const misdirected = await runScript('scripts/runtime-http-smoke.sh', withoutOpsUrl);

        expect(passed.stderr).toBe('');
        expect(passed.code).toBe(0);
        expect(passed.stdout).toContain(`ok   GET ${withOps.opsUrl}/metrics`);
        expect(passed.stdout).not.toContain('ops-token-0123456789abcdef');
        expect(refused.code).toBe(1);
        expect(refused.stderr).toMatch(/FAIL GET \/readyz: expected HTTP 200, got 401/);
        // The API listener has no /healthz when ops.listen is set: the script says where it is.
        expect(misdirected.code).toBe(1);
        expect(misdirected.stderr).toMatch(
          /FAIL GET \/healthz: 404 at http:\/\/127\.0\.0\.1:\d+; a dispatcher with ops\.listen serves it on that listener: set OPS_URL/,
        );
      } finally {
        await withOps.close();
      }
    });

    it.each([
      [
        'a wrong token',
        { DISPATCHER_TOKEN_FILE: '', DISPATCHER_TOKEN: 'wrong-token' },
        /FAIL GET \/v1\/routes: expected HTTP 200, got 401/,
      ],
      [
        'an address nobody listens on',
        { DISPATCHER_URL: 'http://127.0.0.1:9' },
        /FAIL GET http:\/\/127\.0\.0\.1:9\/healthz: /,
      ],
      [
        'an autoscaler nobody listens on',
        { AUTOSCALER_URL: 'http://127.0.0.1:9' },
        /FAIL GET http:\/\/127\.0\.0\.1:9\/healthz: /,
      ],
      [
        'a route set that takes no dispatch for the labels',
        { SMOKE_DISPATCH: '1', SMOKE_SCOPE: 'org:acme', SMOKE_LABELS: 'gpu' },
        /FAIL POST \/v1\/dispatch .*expected HTTP 202, got 422/,
      ],
    ])('exits 1 with the reason on %s', async (_what, extra, reason) => {
      const run = await runScript('scripts/runtime-http-smoke.sh', smokeEnv(extra));

      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(reason);
    });

    it.each([
      ['no DISPATCHER_URL', { DISPATCHER_URL: '' }, /DISPATCHER_URL is not set/],
      ['no token', { DISPATCHER_TOKEN_FILE: '' }, /set DISPATCHER_TOKEN_FILE/],
      ['an unreadable token file', { DISPATCHER_TOKEN_FILE: '/nonexistent/token' }, /is not readable/],
      [
        'SMOKE_DISPATCH=1 without labels',
        { SMOKE_DISPATCH: '1', SMOKE_SCOPE: 'org:acme' },
        /needs SMOKE_LABELS/,
      ],
      ['a bad SMOKE_METRICS', { SMOKE_METRICS: 'maybe' }, /SMOKE_METRICS must be require or skip/],
    ])('exits 2 with the reason on %s', async (_what, extra, reason) => {
      const run = await runScript('scripts/runtime-http-smoke.sh', smokeEnv(extra));

      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(reason);
    });

    it.each(['scripts/runtime-http-smoke.sh', 'scripts/smoke-live.sh'])(
      '%s -h prints the usage',
      async (script) => {
        const run = await runScript(script, {}, ['-h']);

        expect(run.code).toBe(0);
        expect(run.stdout).toMatch(/^usage: .*DISPATCHER_URL=/);
        expect(run.stdout).toContain('DISPATCHER_TOKEN_FILE');
      },
    );

    it('smoke-live.sh drives a dispatch against a deployment from the environment and cleans up', async () => {
      const run = await runScript(
        'scripts/smoke-live.sh',
        smokeEnv({ SMOKE_SCOPE: 'org:acme', SMOKE_LABELS: 'linux' }),
      );

      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/ok {3}dispatch \S+ is cancelled: VM and runner registration released/);
      expect(run.stdout).toContain('smoke-live: passed');
      expect(forgejo.runners().filter((r) => !r.deleted)).toEqual([]);
    });

    it('smoke-live.sh refuses to dispatch without a scope and labels, naming the fix', async () => {
      const run = await runScript('scripts/smoke-live.sh', smokeEnv());

      expect(run.code).toBe(2);
      expect(run.stderr).toContain(
        'set SMOKE_SCOPE and SMOKE_LABELS for the test dispatch, or SMOKE_DISPATCH=0',
      );
    });
  },
);
