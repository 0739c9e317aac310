import type { DispatcherConfig } from '@forgejo-fleet/config';
import type { Logger } from 'pino';

/**
 * One warning per route whose jobs may reach the cloud metadata service (`runner.allow_metadata`,
 * the route's own or the top-level one): said at every start, because those jobs can take any
 * credentials the VM's instance profile carries and read the user-data.
 */
export function warnAllowMetadata(
  config: Pick<DispatcherConfig, 'runner' | 'routes'>,
  log: Pick<Logger, 'warn'>,
): void {
  for (const route of config.routes) {
    if (route.runner?.allow_metadata ?? config.runner.allow_metadata) {
      log.warn(
        { route: route.name },
        'runner.allow_metadata: jobs on this route can reach the cloud metadata service and any credentials it serves',
      );
    }
  }
}
