import { basename } from 'node:path';
import { InvalidRunnerBootstrapError } from '../errors.js';
import { FLEET_DIR, RUNNER_CONFIG_PATH, TOKEN_PATH } from '../paths.js';
import { bootstrapDeadlineSeconds } from '../script.js';
import { RunnerUserData } from './user-data.js';

/** What a pod runs instead of cloud-init: the VM's bootstrap, from files a Secret holds. */
export interface PodBootstrap {
  /** The Secret's data, key → file content; the only place the runner token is. Keys match [-._a-zA-Z0-9]+. */
  readonly files: Readonly<Record<string, string>>;
  /** Where the Secret is mounted in the runner container: read-only, defaultMode 0400 (256). */
  readonly mountPath: string;
  /** The container's command; holds no secret. */
  readonly command: readonly string[];
  /** Plain environment for the container; holds no secret. */
  readonly env: Readonly<Record<string, string>>;
  /** For the pod's activeDeadlineSeconds: the job timeout plus the bootstrap's own margin. */
  readonly deadlineSeconds: number;
}

/**
 * The Secret is mounted over the directory the script already reads its token and config
 * from, so the pod runs the VM's script byte for byte; the script itself sits beside them.
 */
export const POD_MOUNT_PATH = FLEET_DIR;
export const POD_TOKEN_KEY = basename(TOKEN_PATH);
export const POD_RUNNER_CONFIG_KEY = basename(RUNNER_CONFIG_PATH);
export const POD_SCRIPT_KEY = 'bootstrap.sh';
/** Tells the script it runs in a container (script-body.ts `in_container`). */
export const POD_CONTAINER_ENV = 'FORGEJO_FLEET_CONTAINER';

/** Turns user-data rendered by renderUserData into a pod bootstrap; InvalidRunnerBootstrapError when it is not ours. */
export function podBootstrapFromUserData(userData: string): PodBootstrap {
  const parsed = RunnerUserData.safeParse(userData);
  if (!parsed.success) throw new InvalidRunnerBootstrapError(parsed.error);
  const { token, script, runnerConfig, jobTimeoutSeconds } = parsed.data;
  return {
    files: {
      [POD_TOKEN_KEY]: token,
      [POD_RUNNER_CONFIG_KEY]: runnerConfig,
      [POD_SCRIPT_KEY]: script,
    },
    mountPath: POD_MOUNT_PATH,
    // sh reads the script, so a 0400 file without an exec bit runs.
    command: ['/bin/sh', `${POD_MOUNT_PATH}/${POD_SCRIPT_KEY}`],
    env: { [POD_CONTAINER_ENV]: '1' },
    deadlineSeconds: bootstrapDeadlineSeconds(jobTimeoutSeconds),
  };
}
