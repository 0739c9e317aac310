import type { DispatcherConfig, Route } from '@forgejo-fleet/config';
import type { RunnerBootstrap, RunnerInstall } from './bootstrap.js';

/** The registration Forgejo answered with (`POST …/actions/runners`). */
export interface RunnerRegistration {
  readonly uuid: string;
  readonly token: string;
  readonly name: string;
}

/**
 * How a VM of this route is prepared, cold or warm: the same labels, install, Docker, metadata
 * block and host user. Route-level runner settings override the top-level `runner` section.
 */
export function prepareFromConfig(
  config: Pick<DispatcherConfig, 'runner'>,
  route: Route,
): {
  labels: string[];
  install: RunnerInstall;
  docker: { install: boolean };
  blockMetadataForContainers: boolean;
  hostUser?: string;
  blockMetadataForHostUser: boolean;
} {
  const install = route.runner?.install ?? config.runner.install;
  const allowMetadata = route.runner?.allow_metadata ?? config.runner.allow_metadata;
  const hostUser = route.runner?.host_user ?? config.runner.host_user;
  // host_user is the user host-mode jobs run as: a route without host labels (a top-level
  // host_user over a docker route) keeps its root runner. A route mixing host labels with
  // others is refused at config load, and by the renderer.
  const hostLabels = route.runner_labels.some((label) => label.split(':')[1] === 'host');
  return {
    labels: [...route.runner_labels],
    install:
      install.mode === 'baked'
        ? { mode: 'baked', binaryPath: install.binary_path }
        : { mode: 'download', url: install.url, sha256: install.sha256 },
    docker: { install: route.runner?.install_docker ?? config.runner.install_docker },
    blockMetadataForContainers: !allowMetadata,
    ...(hostUser !== undefined && hostLabels ? { hostUser } : {}),
    blockMetadataForHostUser: !allowMetadata,
  };
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
  return {
    instanceUrl: config.forgejo.instance_url,
    runner: params.runner,
    ...(params.handle === undefined ? {} : { handle: params.handle }),
    ...prepareFromConfig(config, route),
    jobTimeoutSeconds: Math.ceil(route.timeouts.job / 1000),
    fleetId: config.fleet_id,
    ...(params.dispatchId === undefined ? {} : { dispatchId: params.dispatchId }),
  };
}
