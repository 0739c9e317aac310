import { bootstrapFromConfig, PLACEHOLDER_TOKEN, renderUserData } from '@forgejo-fleet/cloud-init';
import { ConfigError, loadDispatcherConfig } from '@forgejo-fleet/config';
import { withoutSecrets } from '../config-without-secrets.js';
import { parseFlags } from '../flags.js';
import { type CliIo, EXIT, UsageError } from '../io.js';

export const renderUserDataHelp = `Usage: forgejo-fleet render-user-data --dispatcher FILE --route NAME [--handle HANDLE]

Prints the cloud-init user-data a VM of that route would boot with, with a placeholder
runner token and uuid (nothing is registered in Forgejo). Reads no secret: the config's
token files and variables need not exist where this runs.`;

// A fixed, valid v4 UUID so the rendering is reproducible.
const PLACEHOLDER_UUID = '00000000-0000-4000-8000-000000000000';

export function renderUserDataCommand(argv: readonly string[], io: CliIo): number {
  const flags = parseFlags(argv, { dispatcher: 'string', route: 'string', handle: 'string' });
  if (flags.dispatcher === undefined || flags.route === undefined) {
    throw new UsageError('render-user-data needs --dispatcher FILE and --route NAME');
  }
  let config: ReturnType<typeof loadDispatcherConfig>;
  try {
    // The user-data holds no secret but the runner token, a placeholder here.
    config = loadDispatcherConfig(flags.dispatcher, withoutSecrets(io, flags.dispatcher));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr(`${error.message}\n`);
    return EXIT.invalidConfig;
  }
  const route = config.routes.find((r) => r.name === flags.route);
  if (route === undefined) {
    throw new UsageError(
      `no route "${flags.route}" (routes: ${config.routes.map((r) => r.name).join(', ')})`,
    );
  }
  const prefix = config.runner.name_prefix ?? config.fleet_id;
  io.stdout(
    renderUserData(
      bootstrapFromConfig({
        config,
        route,
        runner: { uuid: PLACEHOLDER_UUID, token: PLACEHOLDER_TOKEN, name: `${prefix}-${route.name}-example` },
        handle: flags.handle,
      }),
    ),
  );
  return EXIT.ok;
}
