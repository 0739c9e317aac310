import { type DispatcherConfig, Route } from '@forgejo-fleet/config';
import { describe, expect, it } from 'vitest';
import { prepareFromConfig } from './from-config.js';

type Runner = DispatcherConfig['runner'];

const defaults: Runner = {
  install: { mode: 'baked', binary_path: '/usr/local/bin/forgejo-runner' },
  install_docker: false,
  allow_metadata: false,
};

function route(runnerLabels: string[], runner?: Record<string, unknown>): Route {
  return Route.parse({
    name: 'r',
    labels: runnerLabels.map((label) => label.split(':')[0]),
    runner_labels: runnerLabels,
    providers: ['aws'],
    ...(runner === undefined ? {} : { runner }),
  });
}

describe('prepareFromConfig: metadata and host user', () => {
  it.each([
    ['blocks by default', defaults, route(['vm:host']), true],
    ['allow_metadata at the top', { ...defaults, allow_metadata: true }, route(['vm:host']), false],
    ['allow_metadata on the route', defaults, route(['vm:host'], { allow_metadata: true }), false],
    [
      'a route turning the top-level allow_metadata off',
      { ...defaults, allow_metadata: true },
      route(['vm:host'], { allow_metadata: false }),
      true,
    ],
  ] as const)('%s', (_case, runner, r, blocked) => {
    const prepared = prepareFromConfig({ runner }, r);

    expect(prepared.blockMetadataForContainers).toBe(blocked);
    expect(prepared.blockMetadataForHostUser).toBe(blocked);
  });

  it.each([
    ['top-level host_user on host labels', { ...defaults, host_user: 'ci' }, route(['vm:host']), 'ci'],
    [
      'a route host_user over the top-level one',
      { ...defaults, host_user: 'ci' },
      route(['vm:host'], { host_user: 'builder' }),
      'builder',
    ],
    // A docker route has no host-mode job to run as the user: its runner stays root.
    [
      'top-level host_user on a docker route',
      { ...defaults, host_user: 'ci' },
      route(['node:docker://node:22']),
      undefined,
    ],
    ['no host_user', defaults, route(['vm:host']), undefined],
  ] as const)('%s', (_case, runner, r, hostUser) => {
    expect(prepareFromConfig({ runner }, r).hostUser).toBe(hostUser);
  });
});
