import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, 'utf8');
const containerfile = read('images/runner-pod/Containerfile');
/** Instructions only: comments may name anything. */
const instructions = containerfile
  .split('\n')
  .filter((line) => !line.trimStart().startsWith('#'))
  .join('\n');

/** Every forgejo-runner version the project's VM images and examples name. */
function projectRunnerVersions(): string[] {
  const sources = ['docs/runner-images.md', 'config.example.yaml', 'images/bake.sh'].map(read).join('\n');
  const found = [
    ...sources.matchAll(/forgejo-runner-(\d+\.\d+\.\d+)-linux/g),
    ...sources.matchAll(/--runner-version (\d+\.\d+\.\d+)/g),
    ...sources.matchAll(/forgejo-fleet-runner=(\d+\.\d+\.\d+)/g),
  ];
  return [...new Set(found.map((m) => m[1] ?? ''))];
}

describe('images/runner-pod/Containerfile', () => {
  it('pins the forgejo-runner version the VM images use', () => {
    const pinned = /^ARG FORGEJO_RUNNER_VERSION=(\d+\.\d+\.\d+)$/m.exec(instructions)?.[1];

    expect(projectRunnerVersions()).toEqual([pinned]);
    expect(read('images/runner-pod/README.md')).toContain(`forgejo-runner-${pinned}-linux-amd64`);
  });

  it('downloads the release binary and refuses it unless the checksum, a required build argument, matches', () => {
    expect(instructions).toMatch(/^ARG FORGEJO_RUNNER_SHA256$/m);
    expect(instructions).toContain("grep -Eqx '[0-9a-f]{64}'");
    expect(instructions).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not JS
      'https://code.forgejo.org/forgejo/runner/releases/download/v${FORGEJO_RUNNER_VERSION}/forgejo-runner-${FORGEJO_RUNNER_VERSION}-linux-${TARGETARCH:-amd64}',
    );
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not JS
    expect(instructions).toContain('echo "${FORGEJO_RUNNER_SHA256}  /tmp/forgejo-runner" | sha256sum -c -');
    expect(instructions).toMatch(/install -m 0755 \/tmp\/forgejo-runner \/usr\/local\/bin\/forgejo-runner/);
    expect(instructions).toContain(
      'COPY --from=runner /usr/local/bin/forgejo-runner /usr/local/bin/forgejo-runner',
    );
  });

  it('puts the runner where runner.install names it by default', () => {
    expect(read('config.example.yaml')).toContain('binary_path: /usr/local/bin/forgejo-runner');
  });

  it('builds from tagged base images, never latest or untagged', () => {
    const bases = [...instructions.matchAll(/^FROM (\S+)/gm)].map((m) => m[1] ?? '');

    expect(bases.length).toBeGreaterThan(0);
    for (const base of bases)
      expect(base).toMatch(/^docker\.io\/library\/[a-z]+:(?!latest$)[\w.-]+(@sha256:[0-9a-f]{64})?$/);
    expect(bases.at(-1)).toMatch(/^docker\.io\/library\/node:/);
  });

  it('installs git and CA certificates and no Docker engine', () => {
    const finalStage = instructions.slice(instructions.lastIndexOf('\nFROM '));

    expect(finalStage).toMatch(/apt-get install -y --no-install-recommends ca-certificates git;/);
    expect(instructions).not.toMatch(/docker\.io;|docker-ce|dockerd|containerd|podman/);
  });

  it('runs as a numeric non-root user, the uid and gid README.md gives for fsGroup', () => {
    const users = [...instructions.matchAll(/^USER (\S+)$/gm)].map((m) => m[1] ?? '');
    const last = users.at(-1) ?? '';

    expect(last).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    const [uid, gid] = last.split(':');
    expect(instructions).toContain(`useradd --uid ${uid} --gid ${gid}`);
    expect(read('images/runner-pod/README.md')).toContain(`fsGroup: ${gid}`);
  });

  it('carries no secret: no token, password or key in an ARG, ENV, LABEL or COPY', () => {
    const risky = instructions
      .split('\n')
      .filter((line) => /^(ARG|ENV|LABEL|COPY|ADD)\b/.test(line.trim()))
      .filter((line) => /token|secret|passw|api[_-]?key|private/i.test(line));

    expect(risky).toEqual([]);
    expect(instructions).not.toContain('/run/forgejo-fleet');
    expect(instructions).not.toMatch(/^ADD /m);
  });
});
