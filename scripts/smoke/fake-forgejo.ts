/**
 * A fake Forgejo (packages/testkit) as a long-running process on a fixed loopback port, for the
 * NixOS VM test (nix/tests/vm-test.nix) and for trying the services by hand:
 *
 *   node --conditions=source --import tsx scripts/smoke/fake-forgejo.ts --port 3000 --state DIR --jobs 3
 *
 * It seeds user `ops`, org `acme` and repo `acme/web`, writes the secrets the two services need into
 * DIR (0600: forgejo-token for the dispatcher, forgejo-token-acme for the autoscaler,
 * dispatcher-token for the autoscaler's dispatcher client), queues --jobs jobs on --labels, and
 * keeps DIR/status.json current: job counts by status and runner registrations left.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createFakeForgejo } from '@forgejo-fleet/testkit';
import { serve } from '@hono/node-server';

const STATUS_EVERY_MS = 250;

function writeAtomically(file: string, text: string, mode: number): void {
  writeFileSync(`${file}.tmp`, text, { mode });
  renameSync(`${file}.tmp`, file);
}

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '3000' },
    state: { type: 'string' },
    jobs: { type: 'string', default: '3' },
    labels: { type: 'string', default: 'linux' },
  },
  strict: true,
});
const port = Number(values.port);
const jobs = Number(values.jobs);
if (values.state === undefined || !Number.isInteger(port) || !Number.isInteger(jobs) || jobs < 0) {
  process.stderr.write(
    'usage: fake-forgejo.ts --state DIR [--port 3000] [--jobs 3] [--labels linux,small]\n',
  );
  process.exit(64);
}
const state = values.state;
mkdirSync(state, { recursive: true, mode: 0o700 });

const forgejo = createFakeForgejo();
forgejo.addUser({ name: 'ops' });
forgejo.addOrg({ name: 'acme', owners: ['ops'] });
forgejo.addRepo({ owner: 'acme', name: 'web' });
const secrets = {
  'forgejo-token': forgejo.addToken({ user: 'ops', scopes: ['write:organization'] }),
  'forgejo-token-acme': forgejo.addToken({ user: 'ops', scopes: ['read:organization'] }),
  'dispatcher-token': randomBytes(24).toString('hex'),
};
for (const [name, value] of Object.entries(secrets)) writeAtomically(join(state, name), `${value}\n`, 0o600);

const server = serve({ fetch: forgejo.app.fetch, hostname: '127.0.0.1', port });
await new Promise<void>((resolve, reject) => {
  server.once('listening', resolve);
  server.once('error', reject);
});
const labels = values.labels.split(',').filter((l) => l !== '');
for (let i = 0; i < jobs; i++)
  forgejo.enqueueJob({ repo: 'acme/web', name: `vm-test-${i + 1}`, runsOn: labels });
process.stdout.write(`fake Forgejo on http://127.0.0.1:${port}, ${jobs} jobs on [${labels.join(', ')}]\n`);

function writeStatus(): void {
  const counts: Record<string, number> = {};
  for (const job of forgejo.jobs()) counts[job.status] = (counts[job.status] ?? 0) + 1;
  const runnersLeft = forgejo.runners().filter((r) => !r.deleted).length;
  writeAtomically(
    join(state, 'status.json'),
    `${JSON.stringify({ jobs: counts, runners_left: runnersLeft })}\n`,
    0o644,
  );
}
writeStatus();
const timer = setInterval(writeStatus, STATUS_EVERY_MS);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    clearInterval(timer);
    server.close();
  });
}
