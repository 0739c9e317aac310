import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** How the fake kubelet starts the fake runner: its argv and the files it may read (the token). */
export interface BootPlan {
  readonly argv: string[];
  readonly files: ReadonlyMap<string, string>;
}

/** The pod or VMI holds no runner bootstrap the fake can run: its container "exits" 1. */
export class BootPlanError extends Error {
  override readonly name = 'BootPlanError';
}

const FLAG = /--(url|uuid|label|handle) '([^']*)'/g;
const TOKEN_URL = /--token-url '?(file:\/\/[^'\s]+)'?/;

/**
 * The one-job flags of a bootstrap script, read the way test/autoscaler-vms.ts `bootPlan` reads
 * them (`--url|--uuid|--label|--handle '<value>'`), and the token from the file `--token-url` names.
 */
function planFromScript(script: string, files: ReadonlyMap<string, string>, fetchInterval: string): BootPlan {
  const tokenUrl = TOKEN_URL.exec(script)?.[1];
  if (tokenUrl === undefined) throw new BootPlanError('the bootstrap script names no --token-url file://');
  const tokenPath = decodeURIComponent(new URL(tokenUrl).pathname);
  if (!files.has(tokenPath)) throw new BootPlanError(`the token file ${tokenPath} is not mounted`);
  const argv = ['one-job', '--token-url', tokenUrl, '--fetch-interval', fetchInterval];
  if (/(^|\s)--wait(\s|$)/.test(script)) argv.push('--wait');
  for (const [, flag, value] of script.matchAll(FLAG)) argv.push(`--${flag}`, value ?? '');
  return { argv, files };
}

/**
 * A pod's plan from its mounted files (path → content) and its container's command and args: the
 * script is a mounted file the command names that holds `one-job`, else any mounted file holding it,
 * else the command line itself (`sh -c '…'`).
 */
export function podBootPlan(
  files: ReadonlyMap<string, string>,
  commandLine: readonly string[],
  fetchInterval: string,
): BootPlan {
  const named = [...files].filter(([path]) => commandLine.some((arg) => arg.includes(path)));
  const script =
    named.find(([, content]) => content.includes('one-job'))?.[1] ??
    [...files.values()].find((content) => content.includes('one-job')) ??
    (commandLine.some((arg) => arg.includes('one-job')) ? commandLine.join(' ') : undefined);
  if (script === undefined) throw new BootPlanError('no mounted file or command runs forgejo-runner one-job');
  return planFromScript(script, files, fetchInterval);
}

const CloudConfig = z.object({
  write_files: z.array(z.object({ path: z.string(), content: z.string().default('') })).default([]),
});

/** A VMI's plan from its cloud-init user-data: the write_files hold the script and the token file. */
export function vmiBootPlan(userData: string, fetchInterval: string): BootPlan {
  let parsed: unknown;
  try {
    parsed = parseYaml(userData, { version: '1.1' });
  } catch {
    throw new BootPlanError('the user-data is not YAML');
  }
  const config = CloudConfig.safeParse(parsed);
  if (!config.success) throw new BootPlanError('the user-data is not a #cloud-config with write_files');
  const files = new Map(config.data.write_files.map((f) => [f.path, f.content]));
  const script = [...files.values()].find((content) => content.includes('one-job'));
  if (script === undefined) throw new BootPlanError('no write_files entry runs forgejo-runner one-job');
  return planFromScript(script, files, fetchInterval);
}
