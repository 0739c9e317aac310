import type { DispatcherConfig, Route } from '@forgejo-fleet/config';
import type { RunnerBootstrap } from './bootstrap.js';

/** The registration Forgejo answered with (`POST …/actions/runners`). */
export interface RunnerRegistration {
  readonly uuid: string;
  readonly token: string;
  readonly name: string;
}

/**
 * Maps the dispatcher config and one route onto the renderer's input, so the dispatcher and
 * `forgejo-fleet render-user-data` produce the same bytes for the same route. Route-level
 * runner settings override the top-level `runner` section.
 */
export function bootstrapFromConfig(params: {
  readonly config: Pick<DispatcherConfig, 'fleet_id' | 'forgejo' | 'runner'>;
  readonly route: Route;
  readonly runner: RunnerRegistration;
  readonly handle?: string | undefined;
  readonly dispatchId?: string | undefined;
}): RunnerBootstrap {
  const { config, route } = params;
  const install = route.runner?.install ?? config.runner.install;
  return {
    instanceUrl: config.forgejo.instance_url,
    runner: params.runner,
    ...(params.handle === undefined ? {} : { handle: params.handle }),
    labels: [...route.runner_labels],
    install:
      install.mode === 'baked'
        ? { mode: 'baked', binaryPath: install.binary_path }
        : { mode: 'download', url: install.url, sha256: install.sha256 },
    jobTimeoutSeconds: Math.ceil(route.timeouts.job / 1000),
    docker: { install: route.runner?.install_docker ?? config.runner.install_docker },
    blockMetadataForContainers: true,
    fleetId: config.fleet_id,
    ...(params.dispatchId === undefined ? {} : { dispatchId: params.dispatchId }),
  };
}
