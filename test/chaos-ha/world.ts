/**
 * The config files of an HA chaos run: three dispatchers on one PostgreSQL database, each with the
 * `kind: kubernetes` pod provider on the fake Kubernetes API (through its own recorder), and two
 * autoscalers polling the fake Forgejo and dispatching through the balancer. Short lease and
 * intervals, so a run takes minutes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

export const FLEET_ID = 'chaos-ha';
export const NAMESPACE = 'runners';
export const LABEL = 'k8s';
export const SCOPE = 'org:acme';
export const REPOS = ['acme/web', 'acme/api', 'acme/docs'] as const;
export const CLIENT_TOKEN = 'chaos-ha-client-token-0123456789';

export interface DispatcherFiles {
  readonly name: string;
  readonly dir: string;
  readonly apiPort: number;
  readonly opsPort: number;
  /** The recorder in front of the fake Kubernetes API that this replica talks to. */
  readonly kubeUrl: string;
  readonly kubeToken: string;
  readonly forgejoUrl: string;
  readonly leaseTtlMs: number;
}

/** Writes the replica's kubeconfig and config; returns the config's path. */
export function writeDispatcherConfig(files: DispatcherFiles): string {
  const kubeconfig = join(files.dir, `${files.name}.kubeconfig`);
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'fake',
      clusters: [{ name: 'fake', cluster: { server: files.kubeUrl } }],
      users: [{ name: 'fleet', user: { token: files.kubeToken } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fleet' } }],
    }),
    { mode: 0o600 },
  );
  const path = join(files.dir, `${files.name}.yaml`);
  writeFileSync(
    path,
    stringify({
      fleet_id: FLEET_ID,
      listen: { host: '127.0.0.1', port: files.apiPort },
      log: { level: 'info' },
      store: {
        kind: 'postgres',
        url_env: 'CHAOS_HA_PG_URL',
        tls: { mode: 'disable' },
        pool_max: 6,
        statement_timeout: '5s',
        decision_log: join(files.dir, `${files.name}.decisions.jsonl`),
      },
      forgejo: {
        api_url: files.forgejoUrl,
        instance_url: files.forgejoUrl,
        token_env: 'CHAOS_HA_FORGEJO_TOKEN',
      },
      // Fast passes and a short grace: what a crash leaves is found and cleaned within the run.
      reconcile: { interval: '1s', orphan_grace: '20s', min_gap: '500ms' },
      ha: { lease_ttl: `${files.leaseTtlMs}ms`, renew_every: `${Math.floor(files.leaseTtlMs / 3)}ms` },
      limits: { max_vms: 400 },
      ops: { listen: { host: '127.0.0.1', port: files.opsPort } },
      providers: {
        pods: {
          kind: 'kubernetes',
          flavor: 'pod',
          kubeconfig_file: kubeconfig,
          namespace: NAMESPACE,
          // The provider's own cap (default 20) would fail dispatches the route's limit allows.
          max_instances: 300,
          pod: {
            image: 'registry.example.org/forgejo-fleet-runner-pod:chaos',
            run_as_user: 1001,
            fs_group: 1001,
          },
        },
      },
      routes: [
        {
          name: 'pods',
          labels: [LABEL],
          providers: ['pods'],
          runner_labels: [`${LABEL}:host`],
          limits: { max_vms: 300 },
          // Pods start within seconds here, even on a loaded machine: one that never starts is
          // replaced within the run, and a slow healthy one is not taken for dead.
          timeouts: { boot: '30s', pickup: '30s', job: '10m' },
        },
      ],
      scopes: { [SCOPE]: {} },
      clients: [{ name: 'autoscaler', token_env: 'CHAOS_HA_CLIENT_TOKEN', scopes: ['*'] }],
    }),
  );
  return path;
}

export interface AutoscalerFiles {
  readonly name: string;
  readonly dir: string;
  readonly opsPort: number;
  readonly dispatcherUrl: string;
  readonly forgejoUrl: string;
}

export function writeAutoscalerConfig(files: AutoscalerFiles): string {
  const path = join(files.dir, `${files.name}.yaml`);
  writeFileSync(
    path,
    stringify({
      log: { level: 'info' },
      forgejo: { api_url: files.forgejoUrl, timeout: '5s' },
      dispatcher: {
        url: files.dispatcherUrl,
        token_env: 'CHAOS_HA_CLIENT_TOKEN',
        timeout: '5s',
        routes_refresh: '10s',
        concurrency: 16,
      },
      poll: { interval: '1s', jitter: 0.2, max_backoff: '5s' },
      scopes: { [SCOPE]: { token_env: 'CHAOS_HA_FORGEJO_TOKEN' } },
      metrics: { listen: { host: '127.0.0.1', port: files.opsPort } },
    }),
  );
  return path;
}
