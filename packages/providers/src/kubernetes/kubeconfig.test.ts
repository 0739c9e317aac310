import { describe, expect, it } from 'vitest';
import { KubernetesProvider } from './config-schema.js';
import { accessFromKubeconfig, inClusterAccess, KubeconfigError } from './kubeconfig.js';

function kubeconfig(user: string, cluster = 'server: https://k8s.example.org:6443'): string {
  return `current-context: ci
clusters: [{name: c, cluster: {${cluster}}}]
users: [{name: u, user: {${user}}}]
contexts: [{name: ci, context: {cluster: c, user: u}}, {name: other, context: {cluster: c, user: nobody}}]
`;
}

function refusal(text: string, context?: string): string {
  try {
    accessFromKubeconfig(text, '/etc/fleet/kubeconfig', context);
  } catch (error) {
    if (error instanceof KubeconfigError) return error.message;
    throw error;
  }
  throw new Error('accepted');
}

describe('kubeconfig', () => {
  it('reads the current context: server, CA and a token file relative to the kubeconfig', () => {
    const access = accessFromKubeconfig(
      kubeconfig(
        'tokenFile: sa-token',
        'server: https://k8s.example.org:6443, certificate-authority: ca.crt',
      ),
      '/etc/fleet/kubeconfig',
    );
    expect(access).toEqual({
      server: 'https://k8s.example.org:6443',
      ca: { file: '/etc/fleet/ca.crt' },
      token: { file: '/etc/fleet/sa-token' },
    });
  });

  it('takes a client certificate as inline data', () => {
    const access = accessFromKubeconfig(
      kubeconfig('client-certificate-data: Y2VydA==, client-key-data: a2V5'),
      '/k',
    );
    expect(access.clientCert).toEqual({ data: 'Y2VydA==' });
    expect(access.clientKey).toEqual({ data: 'a2V5' });
  });

  it.each([
    [kubeconfig('exec: {command: aws}'), 'users[name=u].user.exec: credential plugins are not run'],
    [kubeconfig('auth-provider: {name: gcp}'), 'users[name=u].user.auth-provider: credential plugins'],
    [kubeconfig('username: admin, password: x'), 'users[name=u].user.username: basic auth'],
    [kubeconfig('token: t, tokenFile: f'), 'users[name=u].user.tokenFile: set only one'],
    [
      kubeconfig('client-certificate: c.crt'),
      'users[name=u].user.client-key: a client certificate needs both',
    ],
    [kubeconfig(''), 'users[name=u].user.token: no credentials'],
    [
      kubeconfig('token: t', 'server: https://k, insecure-skip-tls-verify: true'),
      'clusters[name=c].cluster.insecure-skip-tls-verify: refused',
    ],
    [kubeconfig('token: t', 'server: ftp://k'), 'clusters[0].cluster.server'],
    ['current-context: ""\n', 'no current-context'],
  ])('refuses %j naming the field', (text, message) => {
    expect(refusal(text)).toContain(message);
  });

  it('names the contexts there are when the one asked for is missing, and a context whose user is missing', () => {
    expect(refusal(kubeconfig('token: t'), 'prod')).toContain('no context "prod" (contexts: ci, other)');
    expect(refusal(kubeconfig('token: t'), 'other')).toContain('names user "nobody", which is not in users');
  });

  it('in the cluster: the service host and port, the mounted token and CA', () => {
    expect(
      inClusterAccess({ KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, '/sa'),
    ).toEqual({
      server: 'https://10.0.0.1:443',
      ca: { file: '/sa/ca.crt' },
      token: { file: '/sa/token' },
    });
    expect(
      inClusterAccess({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }).server,
    ).toBe('https://[fd00::1]:443');
    expect(() => inClusterAccess({})).toThrow('not in a cluster; set kubeconfig_file');
  });
});

describe('kind: kubernetes config', () => {
  const base = { kind: 'kubernetes', namespace: 'runners' };

  it.each([
    [{ ...base, flavor: 'pod' }, 'pod: required when flavor is pod'],
    [
      { ...base, flavor: 'kubevirt', kubevirt: { image: 'x' }, pod: { image: 'y' } },
      'pod: only for flavor pod',
    ],
    [
      { ...base, flavor: 'pod', pod: { image: 'y' }, context: 'ci' },
      'context: context needs kubeconfig_file',
    ],
    [
      { ...base, namespace: 'Runners', flavor: 'pod', pod: { image: 'y' } },
      'namespace: expected a namespace name',
    ],
    [
      { ...base, flavor: 'pod', pod: { image: 'y', resources: { requests: { cpu: 'two' } } } },
      'pod.resources.requests.cpu: expected a quantity',
    ],
    [
      { ...base, flavor: 'pod', pod: { image: 'y', tolerations: [{ operator: 'Equal', value: 'x' }] } },
      'pod.tolerations.0.operator: a toleration without a key needs operator: Exists',
    ],
  ])('refuses %j naming the key', (input, message) => {
    const parsed = KubernetesProvider.safeParse(input);
    const issues = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues.join('\n')).toContain(message);
  });

  it('fills the defaults: requests for a quota-tracked namespace, cloud call timeouts', () => {
    const parsed = KubernetesProvider.parse({ ...base, flavor: 'pod', pod: { image: 'runner:12' } });
    expect(parsed.pod?.resources).toEqual({ requests: { cpu: '1', memory: '2Gi' }, limits: {} });
    expect(parsed.call_timeouts).toEqual({ create: 120_000, get: 30_000, list: 60_000, delete: 60_000 });
  });
});
