/**
 * The fake Forgejo in a process of its own, for benchmarks: a real Forgejo runs on another machine,
 * so its CPU must not be counted as the dispatcher's. The parent talks to it over the IPC channel:
 * `{ op: 'enqueue', repo, name, runsOn }` → `{ handle, id }`.
 *
 *   fork('scripts/bench/forgejo-process.ts') → first message `{ url, token }`
 */
import { startFakeForgejo } from '@forgejo-fleet/testkit';
import { z } from 'zod';

const Enqueue = z.object({
  op: z.literal('enqueue'),
  repo: z.string(),
  name: z.string(),
  runsOn: z.array(z.string()),
});

const forgejo = await startFakeForgejo();
forgejo.addUser({ name: 'ops' });
forgejo.addOrg({ name: 'acme', owners: ['ops'] });
forgejo.addRepo({ owner: 'acme', name: 'web' });
const token = forgejo.addToken({ user: 'ops', scopes: ['write:organization'] });

const send = (message: unknown) => process.send?.(message);
process.on('message', (raw) => {
  const { repo, name, runsOn } = Enqueue.parse(raw);
  const job = forgejo.enqueueJob({ repo, name, runsOn });
  send({ handle: job.handle, id: job.id });
});
// The parent's exit closes the channel: leave with it.
process.on('disconnect', () => {
  void forgejo.close().finally(() => process.exit(0));
});
send({ url: forgejo.url, token });
