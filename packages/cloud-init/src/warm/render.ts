import { gzipSync } from 'node:zlib';
import { InvalidRunnerBootstrapError } from '../errors.js';
import { powerState, toUserData } from '../render.js';
import { stripShellComments } from '../shell.js';
import { AGENT_SCRIPT } from './agent-script.js';
import { type ValidWarmBootstrap, WarmBootstrap } from './bootstrap.js';
import { AGENT_AUTH_PATH, AGENT_PATH, WARM_BOOTSTRAP_PATH } from './paths.js';
import { renderWarmScript } from './script.js';

/** The agent as the VM gets it. */
export const SHIPPED_AGENT_SCRIPT = stripShellComments(AGENT_SCRIPT);

/**
 * The agent as the user-data carries it: gzip, base64 (cloud-init's `encoding: gz+b64`; the file
 * on the VM is SHIPPED_AGENT_SCRIPT). Plain, it is 8.7 KB of the 16 KB EC2 allows, which left a
 * host_user route (its bootstrap carries the host-user functions) no room for URLs; this way it
 * is 3.8 KB. The same for every VM, so computed once. The gzip header's OS byte is set to Unix
 * (3) so the bytes do not depend on the platform that rendered them.
 */
export const SHIPPED_AGENT_GZ_B64 = (() => {
  const gzip = gzipSync(SHIPPED_AGENT_SCRIPT, { level: 9 });
  gzip[9] = 3;
  return gzip.toString('base64');
})();

function motd(input: ValidWarmBootstrap): string {
  const lines = [
    'forgejo-fleet warm VM: it waits for one Forgejo Actions job, runs it, then powers off.',
    `vm: ${input.vmId}`,
  ];
  if (input.fleetId !== undefined) lines.push(`fleet: ${input.fleetId}`);
  return `${lines.join('\n')}\n`;
}

function cloudConfig(input: ValidWarmBootstrap): Record<string, unknown> {
  return {
    write_files: [
      // The only place the secret appears, in the curl config format so that curl reads it
      // with -K and it never reaches a command line. tmpfs; the agent deletes it once used.
      {
        path: AGENT_AUTH_PATH,
        owner: 'root:root',
        permissions: '0600',
        content: `header = "Authorization: Bearer ${input.secret}"\n`,
      },
      {
        path: AGENT_PATH,
        owner: 'root:root',
        permissions: '0700',
        encoding: 'gz+b64',
        content: SHIPPED_AGENT_GZ_B64,
      },
      {
        path: WARM_BOOTSTRAP_PATH,
        owner: 'root:root',
        permissions: '0700',
        content: renderWarmScript(input),
      },
      { path: '/etc/motd', owner: 'root:root', permissions: '0644', content: motd(input) },
    ],
    // In the foreground like the cold bootstrap: cloud-final waits for the job, and power_state
    // below fires once the agent is done, whatever happened to it.
    runcmd: [[WARM_BOOTSTRAP_PATH]],
    power_state: powerState('forgejo-fleet: warm VM done, powering off'),
  };
}

/**
 * Renders `#cloud-config` user-data for a warm VM: prepares it like the cold path (runner,
 * Docker, metadata block), then runs the agent, which long-polls the dispatcher with the
 * one-time secret, runs the one job it is given and powers off. Validates `input`
 * (InvalidRunnerBootstrapError names the fields, never the secret) and refuses output over
 * 16 KiB (UserDataTooLargeError). Same input, same bytes.
 */
export function renderWarmUserData(input: WarmBootstrap): string {
  const parsed = WarmBootstrap.safeParse(input);
  if (!parsed.success) throw new InvalidRunnerBootstrapError(parsed.error);
  return toUserData(cloudConfig(parsed.data));
}
