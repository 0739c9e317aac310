import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningFakeForgejo, startFakeForgejo } from '../../fake-forgejo/server.js';

/** A running fake with org `acme`, repo `acme/app`, an owner token and a temp dir for token files. */
export async function startWorld() {
  const fake = await startFakeForgejo();
  fake.addUser({ name: 'alice' });
  fake.addOrg({ name: 'acme', owners: ['alice'] });
  fake.addRepo({ owner: 'acme', name: 'app' });
  const pat = fake.addToken({ user: 'alice', scopes: ['write:organization'] });
  const dir = await mkdtemp(join(tmpdir(), 'fake-runner-'));
  return {
    fake,
    dir,
    /** Registers an ephemeral org runner and writes its token to a file; returns the one-job argv base. */
    async registerRunner(o: { ephemeral?: boolean; tokenFileContent?: (token: string) => string } = {}) {
      const res = await fetch(`${fake.url}/api/v1/orgs/acme/actions/runners`, {
        method: 'POST',
        headers: { Authorization: `token ${pat}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'vm', ephemeral: o.ephemeral ?? true }),
      });
      const reg = (await res.json()) as { id: number; uuid: string; token: string };
      const file = join(dir, `token-${reg.id}`);
      await writeFile(file, o.tokenFileContent ? o.tokenFileContent(reg.token) : `${reg.token}\n`, {
        mode: 0o600,
      });
      return {
        reg,
        argv: ['one-job', '--url', `${fake.url}/`, '--uuid', reg.uuid, '--token-url', `file://${file}`],
      };
    },
    async close(this: void) {
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export type World = Awaited<ReturnType<typeof startWorld>>;
export type { RunningFakeForgejo };
