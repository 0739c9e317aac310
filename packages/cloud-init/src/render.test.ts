import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { bakedDocker, downloadHost, TOKEN, twentyLabels } from './__fixtures__/inputs.js';
import type { RunnerBootstrap } from './bootstrap.js';
import { InvalidRunnerBootstrapError, UserDataTooLargeError } from './errors.js';
import { BOOTSTRAP_PATH, PLACEHOLDER_TOKEN, TOKEN_PATH, USER_DATA_MAX_BYTES } from './paths.js';
import { renderUserData } from './render.js';
import { shellcheck } from './warm/__fixtures__/agent-sandbox.js';

type WriteFile = { path: string; content: string; permissions: string; owner: string };
type CloudConfig = { write_files: WriteFile[]; runcmd: string[][]; power_state: Record<string, unknown> };

function load(text: string): CloudConfig {
  return parse(text, { version: '1.1' }) as CloudConfig;
}

function script(text: string): string {
  return load(text).write_files.find((f) => f.path === BOOTSTRAP_PATH)?.content ?? '';
}

function occurrences(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

const shellcheckAvailable = (await shellcheck('#!/bin/sh\ntrue\n')).code !== 'missing';

const renderings: Array<[string, RunnerBootstrap]> = [
  ['baked + handle + docker labels', bakedDocker()],
  ['download + host labels, no handle', downloadHost()],
  ['twenty docker labels, docker install', twentyLabels()],
  ['metadata block off', bakedDocker({ blockMetadataForContainers: false })],
  ['placeholder token', bakedDocker({ runner: { ...bakedDocker().runner, token: PLACEHOLDER_TOKEN } })],
  ['host user', bakedDocker({ labels: ['vm:host'], hostUser: 'ci' })],
  [
    'host user, metadata allowed',
    downloadHost({ hostUser: 'ci', blockMetadataForContainers: false, blockMetadataForHostUser: false }),
  ],
];

describe('renderUserData', () => {
  it('renders baked + handle + docker labels', () => {
    expect(renderUserData(bakedDocker())).toMatchSnapshot();
  });

  it('renders download + host labels without a handle', () => {
    expect(renderUserData(downloadHost())).toMatchSnapshot();
  });

  it('renders host labels with a host user', () => {
    expect(renderUserData(downloadHost({ hostUser: 'ci' }))).toMatchSnapshot();
  });

  describe.each(renderings)('%s', (_name, input) => {
    const text = renderUserData(input);
    const doc = load(text);

    it('starts with #cloud-config and is deterministic', () => {
      expect(text.startsWith('#cloud-config\n')).toBe(true);
      expect(renderUserData(structuredClone(input))).toBe(text);
    });

    it('holds the token exactly once, only in the root-owned 0600 token file', () => {
      const token = input.runner.token;
      const holders = doc.write_files.filter((f) => f.content.includes(token));

      expect(occurrences(text, token)).toBe(1);
      expect(holders).toEqual([
        { path: TOKEN_PATH, owner: 'root:root', permissions: '0600', content: token },
      ]);
    });

    it('powers off in the script and through power_state', () => {
      expect(doc.power_state).toMatchObject({ mode: 'poweroff', condition: true });
      expect(doc.runcmd).toEqual([[BOOTSTRAP_PATH]]);
      expect(script(text)).toMatch(/^ {2}trap finish EXIT$/m);
      expect(script(text)).toMatch(/^ {2}poweroff \|\| systemctl poweroff \|\| shutdown -P now$/m);
    });

    it('runs one-job under the hard timeout with every label', () => {
      const body = script(text);

      const asUser =
        input.hostUser === undefined
          ? ''
          : 'setpriv --reuid="$HOST_USER" --regid="$HOST_GID" --init-groups --no-new-privs -- env HOME="$HOST_HOME" USER="$HOST_USER" LOGNAME="$HOST_USER" ';
      expect(body).toContain(
        `timeout --signal=TERM --kill-after=30s "$JOB_TIMEOUT" ${asUser}"$RUNNER_BIN" -c "$RUNNER_CONFIG" one-job`,
      );
      expect(body.includes('setpriv')).toBe(input.hostUser !== undefined);
      expect(body).toContain(`JOB_TIMEOUT='${input.jobTimeoutSeconds}'`);
      expect(body).toContain("--token-url 'file:///run/forgejo-fleet/runner-token'");
      for (const label of input.labels) expect(body).toContain(`--label '${label}' \\`);
      expect(occurrences(body, '--label ')).toBe(input.labels.length);
      expect(body.includes('--handle ')).toBe(input.handle !== undefined);
      expect(body).toMatch(/--wait\n}/);
    });

    it("raises the runner's own 3h job timeout to the route's", () => {
      const config = doc.write_files.find((f) => f.path === '/run/forgejo-fleet/runner.yaml');
      expect(config?.content).toBe(`runner:\n  timeout: ${input.jobTimeoutSeconds}s\n`);
      expect(script(text)).toContain("RUNNER_CONFIG='/run/forgejo-fleet/runner.yaml'");
    });

    it('blocks the metadata service unless told not to', () => {
      expect(script(text)).toContain(
        `BLOCK_METADATA='${input.blockMetadataForContainers === false ? 0 : 1}'`,
      );
      expect(script(text)).toContain(`HOST_USER='${input.hostUser ?? ''}'`);
      if (input.hostUser === undefined) expect(script(text)).not.toContain('BLOCK_HOST_METADATA=');
      else {
        const blocked = input.blockMetadataForHostUser === false ? 0 : 1;
        expect(script(text)).toContain(`BLOCK_HOST_METADATA='${blocked}'`);
      }
    });

    it('carries the host-user functions only when it has a host user', () => {
      expect(script(text).includes('prepare_host_user() {')).toBe(input.hostUser !== undefined);
    });

    it('fits the EC2 limit', () => {
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(USER_DATA_MAX_BYTES);
    });

    // As for the warm bootstrap (warm/render.test.ts): SC2317 is shellcheck 0.9 not seeing that
    // trap handlers run, SC2174 the intended `mkdir -p -m`.
    it.skipIf(!shellcheckAvailable)('is shellcheck-clean', async () => {
      expect(await shellcheck(script(text), ['SC2317', 'SC2174'])).toEqual({ code: 0, output: '' });
    });
  });

  it('blocks the metadata service by default', () => {
    const body = script(renderUserData(bakedDocker()));

    expect(body).toContain("BLOCK_METADATA='1'");
    expect(body).toContain("METADATA_IPV4='169.254.169.254'");
    expect(body).toContain("METADATA_IPV6='fd00:ec2::254'");
  });

  it.each([
    [
      'docker label, install asked',
      bakedDocker({ docker: { install: true } }),
      "NEEDS_DOCKER='1'",
      "INSTALL_DOCKER='1'",
    ],
    ['docker label, baked Docker', bakedDocker(), "NEEDS_DOCKER='1'", "INSTALL_DOCKER='0'"],
    [
      'host labels, install asked',
      downloadHost({ docker: { install: true } }),
      "NEEDS_DOCKER='0'",
      "INSTALL_DOCKER='0'",
    ],
  ])('installs Docker only for docker labels: %s', (_case, input, needs, install) => {
    const body = script(renderUserData(input));

    expect(body).toContain(needs);
    expect(body).toContain(install);
  });

  it('keeps a token PyYAML would read as a number a string', () => {
    const token = '1_000_000_000_000_000';
    const text = renderUserData(bakedDocker({ runner: { ...bakedDocker().runner, token } }));

    expect(text).toContain(`content: "${token}"`);
    expect(load(text).write_files[0]?.content).toBe(token);
  });

  it('throws UserDataTooLargeError past 16 KiB', () => {
    // Each label is valid on its own; together they are not.
    const image = `registry.example.org:5000/${'long-path/'.repeat(10)}image@sha256:${'a'.repeat(64)}`;
    const input = bakedDocker({
      labels: Array.from({ length: 64 }, (_, i) => `label-${i}:docker://${image}`),
    });

    expect(() => renderUserData(input)).toThrow(UserDataTooLargeError);
    expect(() => renderUserData(input)).toThrow(/over the 16384-byte limit/);
  });

  it('throws InvalidRunnerBootstrapError naming the fields, never the token', () => {
    const input = bakedDocker({ labels: ['debian'], handle: '$(reboot)' });

    const error = (() => {
      try {
        renderUserData({ ...input, runner: { ...input.runner, token: `${TOKEN} x` } });
      } catch (caught) {
        return caught;
      }
    })();

    expect(error).toBeInstanceOf(InvalidRunnerBootstrapError);
    expect((error as InvalidRunnerBootstrapError).issues.map((i) => i.path)).toEqual([
      'runner.token',
      'handle',
      'labels[0]',
    ]);
    expect((error as Error).message).not.toContain(TOKEN);
  });
});
