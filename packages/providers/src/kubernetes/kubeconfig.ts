import { isAbsolute, join } from 'node:path';
import { fieldErrors } from '@forgejo-fleet/runtime';
import { parse } from 'yaml';
import { z } from 'zod';

/**
 * A kubeconfig file as kubectl reads it, limited to what a long-running service can use without
 * running programs: a server with its CA, and a bearer token (inline or from a file) or a client
 * certificate. Exec and auth-provider plugins, basic auth and skipped TLS verification are
 * refused with the field named, so a config that only works on a laptop fails at the first call
 * with a reason instead of with a 401 later.
 */

const Cluster = z.object({
  server: z.url({ protocol: /^https?$/, error: 'expected the API server URL (https://host:port)' }),
  'certificate-authority': z.string().min(1).optional(),
  'certificate-authority-data': z.string().min(1).optional(),
  'insecure-skip-tls-verify': z.boolean().optional(),
  'tls-server-name': z.string().min(1).optional(),
  'proxy-url': z.string().optional(),
});

const User = z.object({
  token: z.string().min(1).optional(),
  tokenFile: z.string().min(1).optional(),
  'client-certificate': z.string().min(1).optional(),
  'client-certificate-data': z.string().min(1).optional(),
  'client-key': z.string().min(1).optional(),
  'client-key-data': z.string().min(1).optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  exec: z.unknown().optional(),
  'auth-provider': z.unknown().optional(),
});

const Context = z.object({
  cluster: z.string().min(1),
  user: z.string().min(1),
  namespace: z.string().optional(),
});

export const Kubeconfig = z.object({
  clusters: z.array(z.object({ name: z.string().min(1), cluster: Cluster })).default([]),
  users: z.array(z.object({ name: z.string().min(1), user: User })).default([]),
  contexts: z.array(z.object({ name: z.string().min(1), context: Context })).default([]),
  'current-context': z.string().optional(),
});

/** Where a file or inline base64 value comes from; paths are already made absolute. */
export type Material = { readonly file: string } | { readonly data: string };

/** Bearer token: fixed text, or a file re-read while the service runs (it may be rotated). */
export type TokenSource = { readonly text: string } | { readonly file: string };

/** Everything needed to talk to one API server as one user. */
export interface ClusterAccess {
  readonly server: string;
  readonly ca?: Material;
  readonly tlsServerName?: string;
  readonly token?: TokenSource;
  readonly clientCert?: Material;
  readonly clientKey?: Material;
}

export class KubeconfigError extends Error {
  override readonly name = 'KubeconfigError';
}

function material(base: string, file: string | undefined, data: string | undefined): Material | undefined {
  if (data !== undefined) return { data };
  if (file !== undefined) return { file: isAbsolute(file) ? file : join(base, file) };
  return undefined;
}

/**
 * The cluster access of `context` (default: `current-context`) in the kubeconfig text read from
 * `path`; relative file references are relative to the file's folder, as kubectl reads them.
 */
export function accessFromKubeconfig(text: string, path: string, context?: string): ClusterAccess {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new KubeconfigError(`${path}: not YAML (${(error as Error).message.split('\n')[0]})`);
  }
  const parsed = Kubeconfig.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = fieldErrors(parsed.error.issues).map((e) => `${e.path}: ${e.message}`);
    throw new KubeconfigError(`${path}: ${problems.join('; ')}`);
  }
  const config = parsed.data;
  const contextName = context ?? config['current-context'];
  if (contextName === undefined || contextName === '')
    throw new KubeconfigError(`${path}: no current-context; set the provider's context`);
  const ctx = config.contexts.find((c) => c.name === contextName)?.context;
  if (ctx === undefined) {
    const known = config.contexts.map((c) => c.name).join(', ') || 'none';
    throw new KubeconfigError(`${path}: no context "${contextName}" (contexts: ${known})`);
  }
  const cluster = config.clusters.find((c) => c.name === ctx.cluster)?.cluster;
  if (cluster === undefined)
    throw new KubeconfigError(
      `${path}: context "${contextName}" names cluster "${ctx.cluster}", which is not in clusters`,
    );
  const user = config.users.find((u) => u.name === ctx.user)?.user;
  if (user === undefined)
    throw new KubeconfigError(
      `${path}: context "${contextName}" names user "${ctx.user}", which is not in users`,
    );
  const where = (field: string) => `${path}: ${field}`;
  const clusterField = (key: string) => where(`clusters[name=${ctx.cluster}].cluster.${key}`);
  const userField = (key: string) => where(`users[name=${ctx.user}].user.${key}`);

  if (cluster['insecure-skip-tls-verify'] === true)
    throw new KubeconfigError(
      `${clusterField('insecure-skip-tls-verify')}: refused; give the cluster's CA instead`,
    );
  if (cluster['proxy-url'] !== undefined && cluster['proxy-url'] !== '')
    throw new KubeconfigError(`${clusterField('proxy-url')}: proxies are not supported`);
  for (const plugin of ['exec', 'auth-provider'] as const) {
    if (user[plugin] !== undefined)
      throw new KubeconfigError(
        `${userField(plugin)}: credential plugins are not run by the dispatcher; use a service-account token (token or tokenFile) or a client certificate`,
      );
  }
  if (user.username !== undefined || user.password !== undefined)
    throw new KubeconfigError(
      `${userField('username')}: basic auth is not supported by Kubernetes since 1.19`,
    );
  if (user.token !== undefined && user.tokenFile !== undefined)
    throw new KubeconfigError(`${userField('tokenFile')}: set only one of token and tokenFile`);

  const base = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) || '/' : '.';
  const clientCert = material(base, user['client-certificate'], user['client-certificate-data']);
  const clientKey = material(base, user['client-key'], user['client-key-data']);
  if ((clientCert === undefined) !== (clientKey === undefined)) {
    const missing = clientCert === undefined ? 'client-certificate' : 'client-key';
    throw new KubeconfigError(`${userField(missing)}: a client certificate needs both certificate and key`);
  }
  const token: TokenSource | undefined =
    user.token !== undefined
      ? { text: user.token }
      : user.tokenFile !== undefined
        ? { file: isAbsolute(user.tokenFile) ? user.tokenFile : join(base, user.tokenFile) }
        : undefined;
  if (token === undefined && clientCert === undefined)
    throw new KubeconfigError(
      `${userField('token')}: no credentials (token, tokenFile or client certificate)`,
    );
  const ca = material(base, cluster['certificate-authority'], cluster['certificate-authority-data']);
  return {
    server: cluster.server,
    ...(ca === undefined ? {} : { ca }),
    ...(cluster['tls-server-name'] === undefined ? {} : { tlsServerName: cluster['tls-server-name'] }),
    ...(token === undefined ? {} : { token }),
    ...(clientCert === undefined ? {} : { clientCert }),
    ...(clientKey === undefined ? {} : { clientKey }),
  };
}

/** The in-cluster service account's files (kubernetes.io: "Accessing the API from a Pod"). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The dispatcher's own service account, when it runs in a pod: KUBERNETES_SERVICE_HOST/_PORT. */
export function inClusterAccess(
  env: Readonly<Record<string, string | undefined>>,
  dir: string = SERVICE_ACCOUNT_DIR,
): ClusterAccess {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (host === undefined || host === '' || port === undefined || port === '')
    throw new KubeconfigError(
      'kubeconfig_file is not set and KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not: not in a cluster; set kubeconfig_file',
    );
  if (!/^\d{1,5}$/.test(port)) throw new KubeconfigError(`KUBERNETES_SERVICE_PORT "${port}" is not a port`);
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    server: `https://${hostPart}:${port}`,
    ca: { file: join(dir, 'ca.crt') },
    token: { file: join(dir, 'token') },
  };
}
