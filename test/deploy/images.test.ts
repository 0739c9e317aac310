import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { validateWithCloudInit } from '@forgejo-fleet/cloud-init';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { hasTool } from './tools.js';

const script = fileURLToPath(new URL('../../images/bake.sh', import.meta.url));
const SHA = 'ab'.repeat(32);

function bake(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      script,
      args,
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

describe('images/bake.sh', () => {
  it('renders a cloud-config that installs the pinned forgejo-runner and Docker, checks the checksum, and powers off', async () => {
    const run = await bake(['render', '--runner-version', '12.8.2', '--sha256', SHA]);

    expect(run.code).toBe(0);
    const config = parse(run.stdout) as {
      packages: string[];
      runcmd: unknown[][];
      power_state: { mode: string };
    };
    expect(run.stdout.startsWith('#cloud-config\n')).toBe(true);
    expect(config.packages).toEqual(expect.arrayContaining(['docker.io', 'iptables', 'curl']));
    const install = JSON.stringify(config.runcmd[0]);
    expect(install).toContain('sha256sum -c');
    expect(install).toContain('forgejo-runner-12.8.2-linux-amd64');
    expect(install).toContain(SHA);
    expect(install).toContain('/usr/local/bin/forgejo-runner');
    expect(config.power_state.mode).toBe('poweroff');
  });

  it.skipIf(!hasTool('cloud-init'))(
    `renders user-data that cloud-init's schema accepts${hasTool('cloud-init') ? '' : ' (skipped: cloud-init not installed)'}`,
    async () => {
      const run = await bake(['render', '--runner-version', '12.8.2', '--sha256', SHA, '--arch', 'arm64']);

      const result = await validateWithCloudInit(run.stdout);

      expect(result).not.toBe('unavailable');
      expect(result === 'unavailable' ? '' : result.output).toMatch(/Valid/);
      expect(result === 'unavailable' ? false : result.ok).toBe(true);
    },
  );

  it.each([
    [['render', '--runner-version', '12.8', '--sha256', SHA], /--runner-version must look like 12\.8\.2/],
    [
      ['render', '--runner-version', '12.8.2', '--sha256', 'deadbeef'],
      /--sha256 must be 64 lowercase hex digits/,
    ],
    [
      ['render', '--runner-version', '12.8.2', '--sha256', SHA, '--arch', 'x86'],
      /--arch must be amd64 or arm64/,
    ],
    [['bake-everything'], /unknown command 'bake-everything'/],
    [['aws', '--runner-version', '12.8.2', '--sha256', SHA, '--region'], /--region needs a value/],
  ])('refuses %j with exit 2 and the reason', async (args, reason) => {
    const run = await bake(args);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(reason);
  });

  it('-h prints the usage of every command', async () => {
    const run = await bake(['-h']);

    expect(run.code).toBe(0);
    for (const command of ['render', 'hetzner', 'aws'])
      expect(run.stdout).toContain(`images/bake.sh ${command}`);
  });
});
