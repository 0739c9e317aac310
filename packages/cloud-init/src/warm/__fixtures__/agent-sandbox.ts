import { execFile, execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { PASSWD_STUB_BODIES } from '../../__fixtures__/host-user-stubs.js';
import { DOWNLOAD_INSTALL_PATH, FLEET_DIR } from '../../paths.js';
import { AGENT_PATH, WARM_BOOTSTRAP_PATH } from '../paths.js';

// Runs the real agent (and the real warm bootstrap) in a temp dir against a fake dispatcher on
// 127.0.0.1. PATH holds only stubs and a few real tools, so nothing on the test machine is
// powered off; `sleep` is a stub that records its argument, so backoff is asserted, not waited.

/** One answer of the fake dispatcher; 'reset' drops the connection without an HTTP answer. */
export type FakeAnswer = { status: number; headers?: Record<string, string>; body?: string } | 'reset';

export type RecordedPoll = { method: string; url: string; headers: IncomingHttpHeaders; body: string };

export type FakeDispatcher = {
  url: string;
  polls: RecordedPoll[];
  close: () => Promise<void>;
};

/**
 * Answers POST /v1/agent/poll from `answers` in order, then 410 (so a runaway agent ends), and
 * serves `download` at GET /forgejo-runner (the warm bootstrap's download mode).
 */
export async function startFakeDispatcher(answers: FakeAnswer[], download = ''): Promise<FakeDispatcher> {
  const queue = [...answers];
  const polls: RecordedPoll[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/forgejo-runner') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(download);
        return;
      }
      polls.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const answer = queue.shift() ?? { status: 410 };
      if (answer === 'reset') {
        req.socket.destroy();
        return;
      }
      res.writeHead(answer.status, answer.headers).end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    polls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A 200 answer carrying `body` as JSON. */
export function jobAnswer(body: unknown): FakeAnswer {
  return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {}
  }
  return undefined;
}

function resolvePython(): string | undefined {
  try {
    // The real interpreter, not a pyenv shim (which needs its own PATH).
    return execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

export const PYTHON3 = resolvePython();
export const CURL = which('curl');
/** Shells the agent must work with: dash is /bin/sh on Debian and Ubuntu. */
export const SHELLS = ['bash', 'dash'].filter((shell) => which(shell) !== undefined);

/** Real tools the agent and the bootstrap use; everything that could touch the machine is a stub. */
const REAL_TOOLS = ['chmod', 'cut', 'dirname', 'grep', 'mkdir', 'mv', 'od', 'rm', 'sha256sum', 'tr'];

/** Records its argv in calls/<name> and its name in calls/order, exits $STUB_<NAME>_EXIT. */
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

/** The fake forgejo-runner: notes the token file's mode and content and its environment. */
export const RUNNER_STUB = stub(
  'forgejo-runner',
  [
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not JS
    'for a in "$@"; do [ "$prev" = --token-url ] && tok="${a#file://}"; prev="$a"; done',
    'stat -c %a "$tok" > "$SANDBOX/calls/token-mode"',
    'cat "$tok" > "$SANDBOX/calls/token-seen"',
    'env > "$SANDBOX/calls/runner-env"',
  ].join('\n'),
);

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

const STUBS: Record<string, string> = {
  'forgejo-runner': RUNNER_STUB,
  setpriv: SETPRIV_STUB,
  chown: stub('chown'),
  // Records its arguments, then runs the command after the options and the duration.
  timeout: [
    '#!/bin/sh',
    'echo "$*" >> "$SANDBOX/calls/timeout"',
    'echo timeout >> "$SANDBOX/calls/order"',
    'while case "$1" in -*) true ;; *) false ;; esac; do shift; done',
    'shift',
    'exec "$@"',
    '',
  ].join('\n'),
  poweroff: stub('poweroff'),
  systemctl: stub('systemctl'),
  shutdown: stub('shutdown'),
  sync: stub('sync'),
  sleep: stub('sleep'),
  // Passes through to the real curl: its recorded argv shows what a process listing would.
  curl: stub('curl', `exec ${CURL ?? 'curl'} "$@"`),
};

export type Sandbox = {
  root: string;
  bin: string;
  run: string;
  calls: (name: string) => Promise<string>;
  /** Stub names in the order they ran. */
  order: () => Promise<string[]>;
  remove: () => Promise<void>;
};

export type SandboxOptions = {
  /** Tools left off PATH. */
  without?: string[];
  /** More stubs on PATH (iptables, getent, useradd, id…), with the passwd fakes for the last three. */
  stubs?: string[];
  /** Extra shell run by a stub before it exits, by stub name. */
  stubBodies?: Record<string, string>;
  /** Files to create first, by path relative to the sandbox (e.g. passwd). */
  files?: (root: string) => Record<string, string>;
};

/** A temp dir with bin/ (stubs, real tools, python3), calls/, run/ (the VM's /run/forgejo-fleet). */
export async function makeSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), 'forgejo-fleet-warm-'));
  const bin = join(root, 'bin');
  const run = join(root, 'run');
  for (const dir of [bin, run, join(root, 'calls'), join(root, 'opt'), join(root, 'sbin')]) await mkdir(dir);
  const without = new Set(options.without ?? []);
  for (const tool of REAL_TOOLS) {
    const path = which(tool);
    if (path !== undefined && !without.has(tool)) await symlink(path, join(bin, tool));
  }
  for (const [name, text] of Object.entries(STUBS)) {
    if (!without.has(name)) await writeFile(join(bin, name), text, { mode: 0o755 });
  }
  for (const name of options.stubs ?? []) {
    const body = [PASSWD_STUB_BODIES[name], options.stubBodies?.[name]].filter(Boolean).join('\n');
    await writeFile(join(bin, name), stub(name, body), { mode: 0o755 });
  }
  for (const [path, content] of Object.entries(options.files?.(root) ?? {})) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  // stat and cat only for the runner stub (the agent uses neither).
  for (const tool of ['stat', 'cat', 'env']) {
    const path = which(tool);
    if (path !== undefined) await symlink(path, join(bin, tool));
  }
  if (PYTHON3 !== undefined && !without.has('python3')) {
    await writeFile(join(bin, 'python3'), `#!/bin/sh\nexec ${PYTHON3} "$@"\n`, { mode: 0o755 });
  }
  return {
    root,
    bin,
    run,
    calls: (name) => readFile(join(root, 'calls', name), 'utf8').catch(() => ''),
    order: async () =>
      (await readFile(join(root, 'calls', 'order'), 'utf8').catch(() => '')).split('\n').filter(Boolean),
    remove: () => rm(root, { recursive: true, force: true }),
  };
}

export type ScriptRun = { code: number; stdout: string; stderr: string; output: string };

/** Runs `script` with `shell` and only `env` (plus PATH and SANDBOX), killed after 15 s. */
export function runScript(
  sandbox: Sandbox,
  shell: string,
  script: string,
  env: Record<string, string>,
): Promise<ScriptRun> {
  return new Promise((resolve) => {
    // Resolved on the test's PATH: the child's PATH is the sandbox's.
    execFile(
      shell.includes('/') ? shell : (which(shell) ?? shell),
      [script],
      { env: { PATH: sandbox.bin, SANDBOX: sandbox.root, ...env }, timeout: 15_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr, output: `${stdout}${stderr}` });
      },
    );
  });
}

type WriteFile = { path: string; content: string; permissions: string; owner: string; encoding?: string };

/** The content cloud-init writes: gz+b64 entries decoded, as on the VM. */
export function decodedContent(file: WriteFile): string {
  if (file.encoding === undefined) return file.content;
  if (file.encoding !== 'gz+b64') throw new Error(`unexpected encoding ${file.encoding}`);
  return gunzipSync(Buffer.from(file.content, 'base64')).toString('utf8');
}

/** The write_files of a rendering, by path, with their content decoded (see decodedContent). */
export function writeFilesOf(userData: string): Map<string, WriteFile> {
  const doc = parse(userData.replace(/^#cloud-config\n/, ''), { version: '1.1' }) as {
    write_files: WriteFile[];
  };
  return new Map(doc.write_files.map((file) => [file.path, { ...file, content: decodedContent(file) }]));
}

/** Where a VM path lands in the sandbox. */
export function relocator(sandbox: Sandbox): (text: string) => string {
  return (text) =>
    text
      .replaceAll(FLEET_DIR, sandbox.run)
      .replaceAll(DOWNLOAD_INSTALL_PATH, join(sandbox.root, 'opt', 'forgejo-runner'))
      .replaceAll('/etc/sudoers', join(sandbox.root, 'etc', 'sudoers'))
      .replaceAll(AGENT_PATH, join(sandbox.root, 'sbin', 'forgejo-fleet-agent'))
      .replaceAll(WARM_BOOTSTRAP_PATH, join(sandbox.root, 'sbin', 'forgejo-fleet-warm'));
}

/**
 * Writes every write_files entry of a warm rendering into the sandbox (paths and the bootstrap's
 * variables relocated, permissions kept) and returns where the bootstrap is. A baked runner is
 * there from boot; a downloaded one only once the bootstrap installs it.
 */
export async function installWarmUserData(sandbox: Sandbox, userData: string): Promise<string> {
  const relocate = relocator(sandbox);
  for (const file of writeFilesOf(userData).values()) {
    if (file.path === '/etc/motd') continue;
    const content = file.path === WARM_BOOTSTRAP_PATH ? relocate(file.content) : file.content;
    await writeFile(relocate(file.path), content, { mode: Number.parseInt(file.permissions, 8) });
  }
  const bootstrap = relocate(WARM_BOOTSTRAP_PATH);
  if ((await readFile(bootstrap, 'utf8')).includes("DOWNLOAD_URL=''")) {
    await writeFile(join(sandbox.root, 'opt', 'forgejo-runner'), RUNNER_STUB, { mode: 0o755 });
  }
  return bootstrap;
}

/** Runs shellcheck (POSIX sh) on `text`; code "missing" when shellcheck is not installed. */
export function shellcheck(
  text: string,
  exclude: string[] = [],
): Promise<{ code: number | 'missing'; output: string }> {
  const args = ['-s', 'sh', ...(exclude.length > 0 ? ['-e', exclude.join(',')] : []), '-'];
  return new Promise((resolve) => {
    const child = execFile('shellcheck', args, (error, stdout, stderr) => {
      if (error !== null && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        resolve({ code: 'missing', output: '' });
        return;
      }
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, output: `${stdout}${stderr}` });
    });
    child.stdin?.end(text);
  });
}
