import { readFileSync } from 'node:fs';
import { virtualClock } from '@forgejo-fleet/runtime/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { Provider, ProviderError } from '../provider.js';
import { type StubApi, startStubApi } from './__fixtures__/stub-api.js';
import { KubernetesVmTemplate } from './config-schema.js';
import { createKubernetesProvider } from './index.js';

// A test CA (valid for 100 years) that signed a server certificate for 127.0.0.1 and a client one.
const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');
const CA = fixture('ca.crt');
const b64 = (text: string) => Buffer.from(text).toString('base64');

let stub: StubApi | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

function provider(
  kubeconfig: string,
  files: Record<string, string> = {},
  env: Record<string, string> = {},
): Provider {
  const all: Record<string, string> = { '/etc/fleet/kubeconfig': kubeconfig, ...files };
  return createKubernetesProvider(
    'k8s',
    {
      flavor: 'kubevirt',
      ...(kubeconfig === '' ? {} : { kubeconfig_file: '/etc/fleet/kubeconfig' }),
      namespace: 'runners',
      kubevirt: KubernetesVmTemplate.parse({ image: 'quay.io/containerdisks/debian:12' }),
    },
    undefined,
    {
      clock: virtualClock(),
      env,
      serviceAccountDir: '/sa',
      readFile: async (path) => {
        const text = all[path];
        if (text === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
        return text;
      },
    },
  );
}

function config(server: string, cluster: string, user: string): string {
  return `current-context: ci
clusters: [{name: c, cluster: {server: "${server}", ${cluster}}}]
users: [{name: u, user: {${user}}}]
contexts: [{name: ci, context: {cluster: c, user: u}}]
`;
}

async function failure(call: Promise<unknown>): Promise<ProviderError> {
  return (await call.then(
    () => {
      throw new Error('succeeded');
    },
    (error: unknown) => error,
  )) as ProviderError;
}

describe('kubernetes connection', () => {
  it('speaks TLS to the server the CA vouches for, with a client certificate', async () => {
    stub = await startStubApi({ key: fixture('server.key'), cert: fixture('server.crt'), ca: CA });
    stub.on(() => ({ status: 200, body: { metadata: {}, items: [] } }));
    const kubeconfig = config(
      stub.url,
      `certificate-authority-data: ${b64(CA)}`,
      `client-certificate-data: ${b64(fixture('client.crt'))}, client-key: client.key`,
    );

    const found = await provider(kubeconfig, { '/etc/fleet/client.key': fixture('client.key') }).list({});

    expect(found).toEqual([]);
    expect(stub.requests.map((r) => [r.clientCn, r.authorization])).toEqual([['forgejo-fleet', undefined]]);
  });

  it('refuses a server its CA does not vouch for, as transient (no answer), without sending the token', async () => {
    stub = await startStubApi({ key: fixture('server.key'), cert: fixture('server.crt') });
    const error = await failure(
      provider(config(stub.url, 'tls-server-name: 127.0.0.1', 'token: t')).list({}),
    );

    expect(error.class).toBe('transient');
    expect(stub.requests).toEqual([]);
  });

  it('refuses plain http to anything but loopback, and a missing kubeconfig, as fatal naming the file', async () => {
    const plain = await failure(
      provider(config('http://k8s.example.org', 'tls-server-name: x', 'token: t')).list({}),
    );
    const missing = await failure(
      provider(config('https://k8s.example.org', 'certificate-authority: /nope/ca.crt', 'token: t')).list({}),
    );

    expect([plain.class, missing.class]).toEqual(['fatal', 'fatal']);
    expect(plain.message).toContain('plain http only to a loopback address');
    expect(missing.message).toContain('certificate-authority /nope/ca.crt: cannot read (ENOENT)');
  });

  it('in the cluster: the service account token and CA, read on first use', async () => {
    stub = await startStubApi({ key: fixture('server.key'), cert: fixture('server.crt') });
    stub.on(() => ({ status: 200, body: { metadata: {}, items: [] } }));
    const port = new URL(stub.url).port;
    const p = provider(
      '',
      { '/sa/token': 'sa-token\n', '/sa/ca.crt': CA },
      {
        KUBERNETES_SERVICE_HOST: '127.0.0.1',
        KUBERNETES_SERVICE_PORT: port,
      },
    );

    await p.list({});

    expect(stub.requests.map((r) => r.authorization)).toEqual(['Bearer sa-token']);
  });
});
