import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUNNER_STUB } from '../../__fixtures__/sandbox.js';
import { DOWNLOAD_INSTALL_PATH } from '../../paths.js';
import type { PodBootstrap } from '../bootstrap.js';

/** Real tools the script may use in a pod. rm is a stub: the token's mount is read-only. */
const REAL_TOOLS = [
  'cat',
  'chmod',
  'cut',
  'dirname',
  'env',
  'grep',
  'mkdir',
  'sha256sum',
  'sleep',
  'stat',
  'timeout',
];

/** Everything a container must not touch; each records its argv in $SANDBOX/calls/<name>. */
export const FORBIDDEN = [
  'poweroff',
  'shutdown',
  'systemctl',
  'apt-get',
  'iptables',
  'ip6tables',
  'nft',
  'curl',
  'wget',
  'rm',
];

function stub(name: string): string {
  const exit = `STUB_${name.toUpperCase().replaceAll('-', '_')}_EXIT`;
  return `#!/bin/sh\necho "$*" >> "$SANDBOX/calls/${name}"\nexit "\${${exit}:-0}"\n`;
}

export type PodRun = {
  code: number;
  output: string;
  mountDir: string;
  calls: (name: string) => Promise<string>;
};

/**
 * Runs a pod's command the way the kubelet would: the Secret's files at 0400 in a read-only
 * (0555) directory standing in for mountPath, the pod's env, PATH with stubs for every host
 * tool. The image's forgejo-runner is the recording stub (../../__fixtures__/sandbox.ts).
 */
export async function runPod(
  pod: PodBootstrap,
  options: { env?: Record<string, string>; jobTimeout?: number; stubs?: string[] } = {},
): Promise<PodRun> {
  const root = await mkdtemp(join(tmpdir(), 'forgejo-fleet-pod-'));
  const bin = join(root, 'bin');
  const mountDir = join(root, 'mnt');
  const runner = join(root, 'image', 'forgejo-runner');
  for (const dir of [bin, mountDir, join(root, 'calls'), join(root, 'image')]) await mkdir(dir);
  for (const tool of REAL_TOOLS) await symlink(`/usr/bin/${tool}`, join(bin, tool));
  for (const name of [...FORBIDDEN, ...(options.stubs ?? [])]) {
    await writeFile(join(bin, name), stub(name), { mode: 0o755 });
  }
  await writeFile(runner, RUNNER_STUB, { mode: 0o755 });
  // Both install modes name a path the image provides; the sandbox's image keeps it here.
  const relocate = (text: string) =>
    text
      .replaceAll(pod.mountPath, mountDir)
      .replaceAll(DOWNLOAD_INSTALL_PATH, runner)
      .replace(/^JOB_TIMEOUT='\d+'$/m, `JOB_TIMEOUT='${options.jobTimeout ?? 60}'`);
  for (const [key, content] of Object.entries(pod.files)) {
    await writeFile(join(mountDir, key), relocate(content), { mode: 0o400 });
  }
  await chmod(mountDir, 0o555);
  const [shell = '', ...args] = pod.command.map(relocate);

  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(
      shell,
      args,
      { env: { ...pod.env, PATH: bin, SANDBOX: root, ...options.env }, timeout: 15_000 },
      (error, stdout, stderr) => {
        const exit = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code: exit, output: `${stdout}${stderr}` });
      },
    );
  });
  return {
    code,
    output,
    mountDir,
    calls: (name) => readFile(join(root, 'calls', name), 'utf8').catch(() => ''),
  };
}
