import { stringify } from 'yaml';
import type { RunnerBootstrap, ValidRunnerBootstrap } from './bootstrap.js';
import { UserDataTooLargeError } from './errors.js';
import { BOOTSTRAP_PATH, RUNNER_CONFIG_PATH, TOKEN_PATH, USER_DATA_MAX_BYTES } from './paths.js';
import { templateRenderer } from './render-template.js';
import { renderBootstrapScript } from './script.js';

function motd(input: ValidRunnerBootstrap): string {
  const lines = ['forgejo-fleet runner VM: it runs one Forgejo Actions job, then powers off.'];
  if (input.fleetId !== undefined) lines.push(`fleet: ${input.fleetId}`);
  if (input.dispatchId !== undefined) lines.push(`dispatch: ${input.dispatchId}`);
  return `${lines.join('\n')}\n`;
}

function cloudConfig(input: ValidRunnerBootstrap): Record<string, unknown> {
  return {
    write_files: [
      // The only place the token appears. In tmpfs (/run), deleted when the runner exits; no
      // `defer`, since root owns it and nothing has to exist before it. (cloud-init keeps its
      // own root-only copy of the user-data; see README.)
      { path: TOKEN_PATH, owner: 'root:root', permissions: '0600', content: input.runner.token },
      {
        path: BOOTSTRAP_PATH,
        owner: 'root:root',
        permissions: '0700',
        content: renderBootstrapScript(input),
      },
      // 0600 like everything the bootstrap writes: with a host user it becomes that user's.
      {
        path: RUNNER_CONFIG_PATH,
        owner: 'root:root',
        permissions: '0600',
        content: runnerConfigYaml(input.jobTimeoutSeconds),
      },
      { path: '/etc/motd', owner: 'root:root', permissions: '0644', content: motd(input) },
    ],
    runcmd: [[BOOTSTRAP_PATH]],
    power_state: powerState('forgejo-fleet: job done, powering off'),
  };
}

/**
 * The runner config both paths write (cloud-init on the cold path, the agent on the warm one):
 * only `runner.timeout`, see RUNNER_CONFIG_PATH.
 */
export function runnerConfigYaml(jobTimeoutSeconds: number): string {
  return stringify({ runner: { timeout: `${jobTimeoutSeconds}s` } });
}

/** cloud-init's own poweroff once runcmd returns: the safety net if a script never reached its own. */
export function powerState(message: string): Record<string, unknown> {
  return { mode: 'poweroff', delay: 'now', condition: true, timeout: 30, message };
}

/** Serialises a cloud-config document and enforces the size limit (both renderers). */
export function toUserData(doc: Record<string, unknown>): string {
  return withinSizeLimit(serialize(doc));
}

function serialize(doc: Record<string, unknown>): string {
  // YAML 1.1 because cloud-init reads with PyYAML: a token like 1_000_… must come out quoted,
  // not as an int. lineWidth 0: never fold, so each script line and the token stay on one line.
  return `#cloud-config\n${stringify(doc, { version: '1.1', lineWidth: 0 })}`;
}

function withinSizeLimit(text: string): string {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > USER_DATA_MAX_BYTES) throw new UserDataTooLargeError(bytes, USER_DATA_MAX_BYTES);
  return text;
}

/** The full render, and the same bytes from a per-route template and check (render-template.ts). */
export const renderFull = (input: ValidRunnerBootstrap): string => serialize(cloudConfig(input));
const renderFromTemplate = templateRenderer(renderFull);

/**
 * Renders `#cloud-config` user-data that runs one job with forgejo-runner one-job and powers
 * the VM off. Validates `input` first (InvalidRunnerBootstrapError names the fields) and
 * refuses output over 16 KiB (UserDataTooLargeError). Same input, same bytes.
 */
export function renderUserData(input: RunnerBootstrap): string {
  return withinSizeLimit(renderFromTemplate(input));
}
