import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { bakedDocker, downloadHost, TOKEN, twentyLabels } from '../__fixtures__/inputs.js';
import type { RunnerBootstrap } from '../bootstrap.js';
import { InvalidRunnerBootstrapError } from '../errors.js';
import { BOOTSTRAP_PATH, BOOTSTRAP_SLACK_SECONDS, RUNNER_CONFIG_PATH, TOKEN_PATH } from '../paths.js';
import { renderUserData, toUserData } from '../render.js';
import { warmHost } from '../warm/__fixtures__/inputs.js';
import { renderWarmUserData } from '../warm/render.js';
import { POD_SCRIPT_KEY, podBootstrapFromUserData } from './bootstrap.js';

const hostLabels = bakedDocker({ labels: ['ubuntu-latest:host', 'pod:host'] });

const renderings: Array<[string, RunnerBootstrap]> = [
  ['baked + handle + host labels', hostLabels],
  ['download + host labels, no handle', downloadHost()],
  ['docker labels (refused by the script at run time, not here)', twentyLabels()],
];

function failure(userData: string): InvalidRunnerBootstrapError {
  try {
    podBootstrapFromUserData(userData);
  } catch (caught) {
    if (caught instanceof InvalidRunnerBootstrapError) return caught;
    throw caught;
  }
  throw new Error('podBootstrapFromUserData accepted it');
}

type WriteFile = { path: string; content: string };

function writeFiles(userData: string): WriteFile[] {
  return (parse(userData, { version: '1.1' }) as { write_files: WriteFile[] }).write_files;
}

/** renderUserData's output with one write_files entry changed, or dropped when `change` gives undefined. */
function edited(path: string, change: (old: string) => string | undefined): string {
  const doc = parse(renderUserData(hostLabels), { version: '1.1' }) as Record<string, unknown>;
  const files = writeFiles(renderUserData(hostLabels)).flatMap((file) => {
    if (file.path !== path) return [file];
    const content = change(file.content);
    return content === undefined ? [] : [{ ...file, content }];
  });
  return toUserData({ ...doc, write_files: files });
}

describe('podBootstrapFromUserData', () => {
  describe.each(renderings)('%s', (_name, input) => {
    const userData = renderUserData(input);
    const pod = podBootstrapFromUserData(userData);
    const vmFile = (path: string) => writeFiles(userData).find((f) => f.path === path)?.content;

    it('puts the token, the runner config and the VM script, unchanged, into the Secret files', () => {
      expect(pod.files).toEqual({
        'runner-token': input.runner.token,
        'runner.yaml': vmFile(RUNNER_CONFIG_PATH),
        [POD_SCRIPT_KEY]: vmFile(BOOTSTRAP_PATH),
      });
      for (const key of Object.keys(pod.files)) expect(key).toMatch(/^[-._a-zA-Z0-9]+$/);
    });

    it('mounts them where the script reads its token and config', () => {
      expect(`${pod.mountPath}/runner-token`).toBe(TOKEN_PATH);
      expect(`${pod.mountPath}/runner.yaml`).toBe(RUNNER_CONFIG_PATH);
      expect(pod.command).toEqual(['/bin/sh', `${pod.mountPath}/${POD_SCRIPT_KEY}`]);
    });

    it('keeps the token out of everything but its file', () => {
      const { files, ...visible } = pod;
      const holders = Object.entries(files).filter(([, content]) => content.includes(input.runner.token));

      expect(holders.map(([key]) => key)).toEqual(['runner-token']);
      expect(JSON.stringify(visible)).not.toContain(input.runner.token);
    });

    it('marks the container and sets the deadline to the job timeout plus the bootstrap slack', () => {
      expect(pod.env).toEqual({ FORGEJO_FLEET_CONTAINER: '1' });
      expect(pod.deadlineSeconds).toBe(input.jobTimeoutSeconds + BOOTSTRAP_SLACK_SECONDS);
      expect(vmFile(BOOTSTRAP_PATH)).toContain(`DEADLINE_MINUTES='${Math.ceil(pod.deadlineSeconds / 60)}'`);
    });
  });

  it.each<[string, () => string, string]>([
    [
      'a shell script',
      () => '#!/bin/sh\nexit 0\n',
      '(root): must be #cloud-config user-data rendered by renderUserData',
    ],
    ['broken YAML', () => '#cloud-config\nwrite_files: [\n', '(root): must be a YAML mapping'],
    [
      'no write_files',
      () => '#cloud-config\nruncmd: [[true]]\n',
      'write_files: must list the files renderUserData writes',
    ],
    [
      'warm user-data (no token file)',
      () => renderWarmUserData(warmHost()),
      `write_files: has no ${TOKEN_PATH} (the runner token)`,
    ],
    [
      'no bootstrap script',
      () => edited(BOOTSTRAP_PATH, () => undefined),
      `write_files: has no ${BOOTSTRAP_PATH} (the bootstrap script)`,
    ],
    [
      'no runner config',
      () => edited(RUNNER_CONFIG_PATH, () => undefined),
      `write_files: has no ${RUNNER_CONFIG_PATH} (the runner config)`,
    ],
    [
      'a runner config without a whole-second timeout',
      () => edited(RUNNER_CONFIG_PATH, () => 'runner:\n  timeout: 3h\n'),
      `write_files["${RUNNER_CONFIG_PATH}"]: must be the runner config renderUserData writes`,
    ],
    [
      'a token with a space',
      () => edited(TOKEN_PATH, (token) => `${token} x`),
      `write_files["${TOKEN_PATH}"]: is not a runner token: may contain only`,
    ],
    [
      'a script that runs no runner',
      () => edited(BOOTSTRAP_PATH, () => "#!/bin/sh\nTOKEN_FILE='/run/forgejo-fleet/runner-token'\n"),
      `write_files["${BOOTSTRAP_PATH}"]: does not run forgejo-runner one-job`,
    ],
    [
      'a script reading its token elsewhere',
      () => edited(BOOTSTRAP_PATH, (s) => s.replace("TOKEN_FILE='/run/", "TOKEN_FILE='/var/")),
      `does not read the token from ${TOKEN_PATH}`,
    ],
    [
      'a script reading its config elsewhere',
      () => edited(BOOTSTRAP_PATH, (s) => s.replace("RUNNER_CONFIG='/run/", "RUNNER_CONFIG='/etc/")),
      `does not read the runner config from ${RUNNER_CONFIG_PATH}`,
    ],
    [
      'a script whose timeout differs from the runner config',
      () => edited(BOOTSTRAP_PATH, (s) => s.replace("JOB_TIMEOUT='3600'", "JOB_TIMEOUT='60'")),
      "JOB_TIMEOUT is not the runner config's 3600s",
    ],
    [
      'a host user',
      () => renderUserData(bakedDocker({ labels: ['vm:host'], hostUser: 'ci' })),
      'has a host user (runner.host_user)',
    ],
  ])('rejects %s, naming what is wrong and never the token', (_case, userData, message) => {
    const error = failure(userData());

    expect(error.message).toContain(message);
    expect(error.message).not.toContain(TOKEN);
  });
});
