import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTool } from './tools.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const UNITS = ['forgejo-fleet-dispatcher.service', 'forgejo-fleet-autoscaler.service'] as const;
const MAX_EXPOSURE = 2.0;

/** `Key=value` lines of a unit file, comments and sections dropped; repeated keys keep every value. */
function directives(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('[')) continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    map.set(key, [...(map.get(key) ?? []), line.slice(eq + 1)]);
  }
  return map;
}

function unitText(unit: string): string {
  return readFileSync(join(root, 'deploy/systemd', unit), 'utf8');
}

describe.each(UNITS)('deploy/systemd/%s', (unit) => {
  const d = directives(unitText(unit));
  const one = (key: string) => d.get(key)?.at(-1);

  it.each([
    ['DynamicUser', 'yes'],
    ['ProtectSystem', 'strict'],
    ['ProtectHome', 'yes'],
    ['PrivateTmp', 'yes'],
    ['NoNewPrivileges', 'yes'],
    ['CapabilityBoundingSet', ''],
    ['RestrictAddressFamilies', 'AF_INET AF_INET6 AF_UNIX'],
    ['Restart', 'on-failure'],
    ['MemoryDenyWriteExecute', 'no'],
  ])('sets %s=%s', (key, value) => {
    expect(one(key)).toBe(value);
  });

  it('allows @system-service syscalls only, stops restarting on a bad config (78), and waits for in-flight work', () => {
    expect(d.get('SystemCallFilter')?.[0]).toBe('@system-service');
    expect(d.get('RestartPreventExitStatus')).toContain('78');
    expect(one('TimeoutStopSec')).toMatch(/^\d+min$/);
    expect(one('StateDirectory')).toMatch(/^forgejo-fleet-/);
    expect(d.get('LoadCredential')?.length).toBeGreaterThan(0);
    // Secrets come from credentials, never from Environment= lines.
    expect((d.get('Environment') ?? []).join(' ')).not.toMatch(/TOKEN|SECRET|PASSWORD/i);
  });

  it.runIf(unit === 'forgejo-fleet-dispatcher.service')(
    'never restarts on an unusable store (65) or a store held by another dispatcher (69)',
    () => {
      // The codes main.ts exits with (apps/dispatcher/src/main.test.ts spawns them).
      expect(d.get('RestartPreventExitStatus')).toEqual(expect.arrayContaining(['65', '69']));
    },
  );

  it('comments why MemoryDenyWriteExecute stays off (V8 JIT)', () => {
    expect(unitText(unit)).toMatch(
      /^# Relaxation: MemoryDenyWriteExecute= stays off\. V8, Node's JavaScript engine, is a JIT/m,
    );
  });
});

// systemd-analyze verify refuses a unit whose ExecStart binary does not exist, and the units point
// at /usr/bin/node (the Debian/NodeSource path). Each unit is copied to a temporary directory with
// that one path replaced by this test's own node binary, so verify checks everything else as is.
const analyze = hasTool('systemd-analyze');
describe.skipIf(!analyze)(
  `systemd-analyze on the units${analyze ? '' : ' (skipped: systemd-analyze not installed; Debian package systemd)'}`,
  () => {
    let dir: string;
    let offline = false;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'fleet-units-'));
      for (const unit of UNITS) {
        writeFileSync(
          join(dir, unit),
          unitText(unit).replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `),
        );
      }
      const { stdout } = await promisify(execFile)('systemd-analyze', ['security', '--help']);
      offline = stdout.includes('--offline');
    });

    afterAll(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it.each(UNITS)('%s passes systemd-analyze verify', async (unit) => {
      const file = join(dir, unit);
      expect(existsSync(file)).toBe(true);

      const result = await promisify(execFile)('systemd-analyze', ['verify', '--man=no', file], {
        env: { ...process.env, SYSTEMD_LOG_COLOR: '0' },
      });

      // verify may mention unrelated host units; nothing it says may concern ours.
      expect(result.stderr.split('\n').filter((line) => line.includes(unit))).toEqual([]);
    });

    it('would catch a mistake: verify reports an unknown key of a unit, naming the file', async () => {
      const broken = join(dir, 'broken.service');
      writeFileSync(
        broken,
        readFileSync(join(dir, UNITS[0]), 'utf8').replace('ProtectHome=yes', 'ProtectHom=yes'),
      );

      const result = await promisify(execFile)('systemd-analyze', ['verify', '--man=no', broken]);

      expect(result.stderr).toMatch(/broken\.service:\d+: Unknown key .*ProtectHom/);
    });

    it.for(UNITS)(
      `%s is rated ${MAX_EXPOSURE.toFixed(1)} or lower by systemd-analyze security --offline`,
      async (unit, ctx) => {
        if (!offline) ctx.skip('this systemd-analyze has no --offline (systemd < 250)');

        const { stdout } = await promisify(execFile)(
          'systemd-analyze',
          ['security', '--offline=true', join(dir, unit)],
          {
            env: { ...process.env, SYSTEMD_COLORS: '0' },
          },
        );

        const match = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(stdout);
        expect(match, stdout.slice(-500)).not.toBeNull();
        const exposure = Number(match?.[1]);
        console.info(`${unit}: systemd-analyze security exposure ${exposure}`);
        expect(exposure).toBeLessThanOrEqual(MAX_EXPOSURE);
      },
    );
  },
);
