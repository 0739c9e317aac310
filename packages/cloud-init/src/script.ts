import type { ValidRunnerBootstrap } from './bootstrap.js';
import { AS_HOST_USER, HOST_USER_FUNCTIONS } from './host-user.js';
import { usesDocker } from './labels.js';
import {
  BOOTSTRAP_SLACK_SECONDS,
  DOWNLOAD_INSTALL_PATH,
  KILL_AFTER_SECONDS,
  METADATA_IPV4,
  METADATA_IPV6,
  RUNNER_CONFIG_PATH,
  TOKEN_PATH,
  TOKEN_URL,
} from './paths.js';
import { COLD_MAIN, SCRIPT_FUNCTIONS } from './script-body.js';
import { shQuote } from './shell.js';

/** The forgejo-runner invocation, one flag per line so the console log and diffs stay readable. */
function runRunnerFunction(input: ValidRunnerBootstrap): string {
  const args: string[][] = [
    ['--url', input.instanceUrl],
    ['--uuid', input.runner.uuid],
    ['--token-url', TOKEN_URL],
    // Every label: the runner declares their names, and Forgejo hands it a job only when
    // those names cover the job's runs_on, even with --handle.
    ...input.labels.map((label) => ['--label', label]),
    ...(input.handle === undefined ? [] : [['--handle', input.handle]]),
  ];
  const asUser = input.hostUser === undefined ? '' : `${AS_HOST_USER} `;
  const lines = [
    `timeout --signal=TERM --kill-after=${KILL_AFTER_SECONDS}s "$JOB_TIMEOUT" ${asUser}"$RUNNER_BIN" -c "$RUNNER_CONFIG" one-job`,
    ...args.map(([flag, value]) => `${flag} ${shQuote(value ?? '')}`),
    // --wait: the handle may not be assignable yet; the timeout above ends it if it never is.
    '--wait',
  ];
  return `run_runner() {\n  ${lines.join(' \\\n    ')}\n}\n`;
}

/** One `NAME=value` line of a script preamble. */
export type ShellVariable = readonly [name: string, value: string | number];

/** What preparing a VM (runner install, Docker, metadata block, host user) depends on, cold or warm. */
export type PrepareInput = Pick<
  ValidRunnerBootstrap,
  'install' | 'labels' | 'docker' | 'blockMetadataForContainers' | 'hostUser' | 'blockMetadataForHostUser'
>;

/** The variables SCRIPT_FUNCTIONS read to prepare the VM; the warm script reuses them as they are. */
export function prepareVariables(input: PrepareInput): ShellVariable[] {
  const download = input.install.mode === 'download' ? input.install : undefined;
  const needsDocker = usesDocker(input.labels);
  return [
    ['RUNNER_BIN', input.install.mode === 'baked' ? input.install.binaryPath : DOWNLOAD_INSTALL_PATH],
    ['DOWNLOAD_URL', download?.url ?? ''],
    ['DOWNLOAD_SHA256', download?.sha256 ?? ''],
    ['NEEDS_DOCKER', needsDocker ? 1 : 0],
    ['INSTALL_DOCKER', needsDocker && input.docker?.install === true ? 1 : 0],
    ['BLOCK_METADATA', input.blockMetadataForContainers ? 1 : 0],
    ['METADATA_IPV4', METADATA_IPV4],
    ['METADATA_IPV6', METADATA_IPV6],
    ['HOST_USER', input.hostUser ?? ''],
    // Read by the host-user functions only, so only where they are (shellcheck: no unused variable).
    ...(input.hostUser === undefined
      ? []
      : [['BLOCK_HOST_METADATA', input.blockMetadataForHostUser ? 1 : 0] as const]),
  ];
}

/** The prepare functions a script needs: the host user's only when it has one (size). */
export function prepareFunctions(input: PrepareInput): string {
  return input.hostUser === undefined ? SCRIPT_FUNCTIONS : SCRIPT_FUNCTIONS + HOST_USER_FUNCTIONS;
}

/** Renders variables as sh assignments, every value single-quoted. */
export function shellVariables(values: readonly ShellVariable[]): string {
  return values.map(([name, value]) => `${name}=${shQuote(String(value))}\n`).join('');
}

/**
 * How long a runner machine may live: the job timeout plus the slack for installs and boot.
 * The VM schedules its shutdown after it; a pod gets it as activeDeadlineSeconds (pod/).
 */
export function bootstrapDeadlineSeconds(jobTimeoutSeconds: number): number {
  return jobTimeoutSeconds + BOOTSTRAP_SLACK_SECONDS;
}

function variables(input: ValidRunnerBootstrap): string {
  return shellVariables([
    ['FLEET_ID', input.fleetId ?? '-'],
    ['DISPATCH_ID', input.dispatchId ?? '-'],
    ['RUNNER_NAME', input.runner.name],
    ...prepareVariables(input),
    ['TOKEN_FILE', TOKEN_PATH],
    ['RUNNER_CONFIG', RUNNER_CONFIG_PATH],
    ['JOB_TIMEOUT', input.jobTimeoutSeconds],
    ['DEADLINE_MINUTES', Math.ceil(bootstrapDeadlineSeconds(input.jobTimeoutSeconds) / 60)],
  ]);
}

/**
 * Renders the bootstrap script: header, quoted variables, the runner invocation, then the
 * fixed body. The runner token is not in it; the runner reads TOKEN_FILE.
 */
export function renderBootstrapScript(input: ValidRunnerBootstrap): string {
  return [
    '#!/bin/sh\n',
    '# forgejo-fleet: run exactly one Forgejo Actions job on this VM, then power off.\n',
    'set -eu\n\n',
    variables(input),
    '\n',
    runRunnerFunction(input),
    prepareFunctions(input),
    COLD_MAIN,
  ].join('');
}
