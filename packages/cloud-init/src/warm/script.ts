import { BOOTSTRAP_SLACK_SECONDS, RUNNER_CONFIG_PATH, TOKEN_PATH } from '../paths.js';
import { prepareFunctions, prepareVariables, shellVariables } from '../script.js';
import { stripShellComments } from '../shell.js';
import type { ValidWarmBootstrap } from './bootstrap.js';
import {
  AGENT_AUTH_PATH,
  AGENT_BACKOFF_MAX_SECONDS,
  AGENT_PATH,
  AGENT_POLL_TIMEOUT_SECONDS,
  AGENT_WORK_DIR,
} from './paths.js';

/**
 * The warm bootstrap's main. It prepares the VM before any job exists (that is the point of a
 * warm VM), then hands over to the agent, which runs the job and powers off. The EXIT trap
 * (finish) powers off too, so the VM ends when the agent does, however it ends.
 * Avoid "${" here: this is a JavaScript template literal.
 */
const WARM_MAIN = String.raw`main() {
  trap finish EXIT
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 143' TERM
  umask 077
  log "warm VM starting: fleet $FLEET_ID"
  # An unassigned VM must not outlive its pool even when the dispatcher that recycles it is
  # gone. The agent replaces this with the job's own deadline once it has one.
  shutdown -P "+$DEADLINE_MINUTES" >/dev/null 2>&1 || log "warning: could not schedule the idle deadline shutdown"
  install_runner
  if [ "$NEEDS_DOCKER" = 1 ]; then ensure_docker; fi
  if [ "$BLOCK_METADATA" = 1 ]; then block_metadata; else log "warning: metadata service not blocked"; fi
  # The agent stays root (it holds the secret and powers off); it runs the job as HOST_USER.
  HOST_GID='' HOST_HOME=''
  if [ -n "$HOST_USER" ]; then prepare_host_user; fi
  [ -x "$AGENT_BIN" ] || die "the agent is not executable at $AGENT_BIN"
  log "VM ready; starting the agent"
  agent_exit=0
  FLEET_AGENT_URL="$AGENT_URL" \
    FLEET_VM_ID="$VM_ID" \
    FLEET_AGENT_AUTH_FILE="$AUTH_FILE" \
    FLEET_AGENT_WORK_DIR="$WORK_DIR" \
    FLEET_RUNNER_BIN="$RUNNER_BIN" \
    FLEET_TOKEN_FILE="$TOKEN_FILE" \
    FLEET_RUNNER_CONFIG="$RUNNER_CONFIG" \
    FLEET_AGENT_POLL_TIMEOUT="$POLL_TIMEOUT" \
    FLEET_HOST_USER="$HOST_USER" \
    FLEET_HOST_GID="$HOST_GID" \
    FLEET_HOST_HOME="$HOST_HOME" \
    FLEET_AGENT_BACKOFF_MAX="$BACKOFF_MAX" \
    "$AGENT_BIN" || agent_exit=$?
  rm -f "$AUTH_FILE"
  exit "$agent_exit"
}

main
`;

/**
 * Renders the warm bootstrap script: quoted variables, the cold path's prepare functions, then
 * WARM_MAIN, without comments (size). Neither the secret nor a runner token is in it: the
 * agent reads AUTH_FILE.
 */
export function renderWarmScript(input: ValidWarmBootstrap): string {
  const script = [
    '#!/bin/sh\n',
    '# forgejo-fleet: prepare this warm VM, then let the agent wait for its one job.\n',
    'set -eu\n\n',
    shellVariables([
      ['FLEET_ID', input.fleetId ?? '-'],
      // log() prefixes DISPATCH_ID; a warm VM has no dispatch until the agent gets its job.
      ['DISPATCH_ID', input.vmId],
      ...prepareVariables(input),
      ['TOKEN_FILE', TOKEN_PATH],
      ['RUNNER_CONFIG', RUNNER_CONFIG_PATH],
      ['AGENT_BIN', AGENT_PATH],
      ['AGENT_URL', input.agentUrl],
      ['VM_ID', input.vmId],
      ['AUTH_FILE', AGENT_AUTH_PATH],
      ['WORK_DIR', AGENT_WORK_DIR],
      ['POLL_TIMEOUT', AGENT_POLL_TIMEOUT_SECONDS],
      ['BACKOFF_MAX', AGENT_BACKOFF_MAX_SECONDS],
      ['DEADLINE_MINUTES', Math.ceil((input.maxIdleSeconds + BOOTSTRAP_SLACK_SECONDS) / 60)],
    ]),
    prepareFunctions(input),
    WARM_MAIN,
  ].join('');
  return stripShellComments(script);
}
