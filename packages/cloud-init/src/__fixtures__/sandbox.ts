import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { BOOTSTRAP_PATH, DOWNLOAD_INSTALL_PATH, FLEET_DIR, TOKEN_PATH } from '../paths.js';
import { PASSWD_STUB_BODIES } from './host-user-stubs.js';

/** Real tools the script may use; everything else (poweroff, docker, iptables…) is a stub or absent. */
const REAL_TOOLS = [
  'cat',
  'chmod',
  'cp',
  'cut',
  'dirname',
  'env',
  'grep',
  'mkdir',
  'mv',
  'rm',
  'sha256sum',
  'sleep',
  'stat',
  'sync',
];
const REAL_TIMEOUT = '/usr/bin/timeout';

/**
 * A stub records its argv in $SANDBOX/calls/<name> and its name in calls/order, then exits with
 * $STUB_<NAME>_EXIT (default 0).
 */
function stub(name: string, body = ''): string {
  const env = `STUB_${name.toUpperCase().replaceAll('-', '_')}_EXIT`;
  return [
    '#!/bin/sh',
    `echo "$*" >> "$SANDBOX/calls/${name}"`,
    `echo ${name} >> "$SANDBOX/calls/order"`,
    body,
    `exit "\${${env}:-0}"`,
    '',
  ].join('\n');
}

/** Records its arguments, then runs the command after `--` (as the user it names, on a VM). */
const SETPRIV_STUB = [
  '#!/bin/sh',
  'echo "$*" >> "$SANDBOX/calls/setpriv"',
  'echo setpriv >> "$SANDBOX/calls/order"',
  'while [ "$1" != -- ]; do shift; done',
  'shift',
  'exec "$@"',
  '',
].join('\n');

/** The stubs a host-user script needs besides a firewall tool. */
export const HOST_USER_STUBS = ['getent', 'useradd', 'id', 'chown', 'setpriv'];

/** The fake forgejo-runner: notes the token file's mode and content while it runs, sleeps if asked. */
export const RUNNER_STUB = stub(
  'forgejo-runner',
  [
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not JS
    'for a in "$@"; do [ "$prev" = --token-url ] && tok="${a#file://}"; prev="$a"; done',
    'stat -c %a "$tok" > "$SANDBOX/calls/token-mode"',
    'cat "$tok" > "$SANDBOX/calls/token-seen"',
    'env > "$SANDBOX/calls/runner-env"',
    '[ -z "$STUB_RUNNER_SLEEP" ] || sleep "$STUB_RUNNER_SLEEP"',
  ].join('\n'),
);

const CURL_STUB = stub(
  'curl',
  'while [ $# -gt 0 ]; do [ "$1" = -o ] && cp "$SANDBOX/download" "$2"; shift; done',
);

export type SandboxOptions = {
  /** Extra stubs on PATH, e.g. docker, iptables, ip6tables, curl. */
  stubs?: string[];
  /** Extra shell run by a stub before it exits, by stub name. */
  stubBodies?: Record<string, string>;
  env?: Record<string, string>;
  /** Replaces JOB_TIMEOUT so the timeout path takes a second, not a minute. */
  jobTimeout?: number;
  /** What the curl stub "downloads" (default: the runner stub). */
  download?: string;
  /** Leave the token file out, as if write_files had failed. */
  noToken?: boolean;
  /** Files to create before the script runs, by path relative to the sandbox (e.g. passwd). */
  files?: (root: string) => Record<string, string>;
};

export type SandboxRun = {
  code: number;
  output: string;
  root: string;
  runnerPath: string;
  tokenPath: string;
  calls: (name: string) => Promise<string>;
};

export function exists(path: string): Promise<boolean> {
  return readFile(path).then(
    () => true,
    () => false,
  );
}

/**
 * Runs the rendered bootstrap script with dash in a temp dir. The VM paths are rewritten into
 * the sandbox and PATH holds only stubs and harmless real tools, so nothing on the test
 * machine is powered off or reconfigured.
 */
export async function runBootstrap(userData: string, options: SandboxOptions = {}): Promise<SandboxRun> {
  const root = await mkdtemp(join(tmpdir(), 'forgejo-fleet-sandbox-'));
  const bin = join(root, 'bin');
  for (const dir of ['bin', 'calls', 'run', 'opt']) await mkdir(join(root, dir));
  for (const tool of [...REAL_TOOLS.map((t) => `/usr/bin/${t}`), REAL_TIMEOUT]) {
    await symlink(tool, join(bin, tool.split('/').pop() ?? tool));
  }
  for (const name of ['poweroff', 'shutdown', 'systemctl', ...(options.stubs ?? [])]) {
    const body = [PASSWD_STUB_BODIES[name], options.stubBodies?.[name]].filter(Boolean).join('\n');
    const text = name === 'curl' ? CURL_STUB : name === 'setpriv' ? SETPRIV_STUB : stub(name, body);
    await writeFile(join(bin, name), text, { mode: 0o755 });
  }
  for (const [path, content] of Object.entries(options.files?.(root) ?? {})) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  await writeFile(join(root, 'download'), options.download ?? RUNNER_STUB);

  const doc = parse(userData.replace(/^#cloud-config\n/, ''), { version: '1.1' }) as {
    write_files: Array<{ path: string; content: string; permissions: string }>;
  };
  const fileAt = (path: string) => doc.write_files.find((f) => f.path === path);
  const runnerPath = join(root, 'opt', 'forgejo-runner');
  const relocate = (text: string) =>
    text
      .replaceAll(FLEET_DIR, join(root, 'run'))
      .replaceAll(DOWNLOAD_INSTALL_PATH, runnerPath)
      .replaceAll('/etc/sudoers', join(root, 'etc', 'sudoers'))
      .replace(/^JOB_TIMEOUT='\d+'$/m, `JOB_TIMEOUT='${options.jobTimeout ?? 60}'`);
  const script = relocate(fileAt(BOOTSTRAP_PATH)?.content ?? '');
  const scriptPath = join(root, 'bootstrap.sh');
  await writeFile(scriptPath, script, { mode: 0o700 });
  const tokenPath = relocate(TOKEN_PATH);
  const token = fileAt(TOKEN_PATH);
  if (token !== undefined && options.noToken !== true) {
    await writeFile(tokenPath, token.content, { mode: Number.parseInt(token.permissions, 8) });
  }
  // A baked binary is there from boot; a downloaded one only once the script installs it.
  if (script.includes("DOWNLOAD_URL=''")) await writeFile(runnerPath, RUNNER_STUB, { mode: 0o755 });

  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(
      '/bin/sh',
      [scriptPath],
      { env: { PATH: bin, SANDBOX: root, ...options.env }, timeout: 15_000 },
      (error, stdout, stderr) => {
        const exit = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code: exit, output: `${stdout}${stderr}` });
      },
    );
  });
  return {
    code,
    output,
    root,
    runnerPath,
    tokenPath,
    calls: (name) => readFile(join(root, 'calls', name), 'utf8').catch(() => ''),
  };
}
