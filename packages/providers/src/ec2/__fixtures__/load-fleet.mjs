// Run by lazy.test.ts after record-loads.mjs: loads what a dispatcher with Hetzner and shell
// providers loads, step by step, marking each step in $LOADED_LOG.
import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const WATCHED = /node_modules\/(@aws-sdk|undici|execa)\//;
const cache = createRequire(import.meta.url).cache;
const seen = new Set();
function step(name) {
  for (const path of Object.keys(cache)) {
    if (WATCHED.test(path) && !seen.has(path)) appendFileSync(process.env.LOADED_LOG, `${path}\n`);
    seen.add(path);
  }
  appendFileSync(process.env.LOADED_LOG, `# ${name}\n`);
}
const schemas = await import('@forgejo-fleet/providers/schemas');
const { Secret } = await import('@forgejo-fleet/runtime/config');
step('schemas');

const { createProvider } = await import('@forgejo-fleet/providers');
const parse = (entry) => schemas.providerSchemas.find((s) => s.kind === entry.kind).options.parse(entry);
const hetzner = parse({
  kind: 'hetzner',
  token_env: 'T',
  server_types: ['cpx22'],
  locations: ['fsn1'],
  image: 'ubuntu-24.04',
});
createProvider('h', { ...hetzner, token: new Secret('test-token', 'test') });
createProvider('s', parse({ kind: 'shell', command: ['/bin/true'] }));
step('hetzner and shell built');

const ec2 = createProvider(
  'e',
  parse({
    kind: 'ec2',
    region: 'eu-central-1',
    endpoint: 'http://127.0.0.1:9',
    image_id: 'ami-0123456789abcdef0',
    instance_types: ['c7a.large'],
  }),
);
step('ec2 built');

// The first call loads the SDK; it is aborted at once, nothing is sent.
await ec2.get('i-0', { signal: AbortSignal.abort() }).catch(() => undefined);
step('ec2 called');
