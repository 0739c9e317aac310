#!/usr/bin/env node
import { ConfigError, loadDispatcherConfig } from '@forgejo-fleet/config';
import { ListenError, parseServiceCommandLine } from '@forgejo-fleet/runtime';
import {
  describeLocation,
  InvalidArgumentError,
  StoreAccessError,
  StoreLockedError,
  StoreUnavailableError,
  StoreUnreadableError,
  UnsupportedSchemaError,
} from '@forgejo-fleet/store';
import { createLogger } from './logger.js';
import { startDispatcher } from './server.js';
import { UnsupportedProviderError } from './wiring.js';

// sysexits codes; the systemd unit lists every permanent one in RestartPreventExitStatus=, so a
// failure a restart cannot fix never turns into a restart loop (docs/troubleshooting.md).
// EX_CONFIG: the config is wrong.
const EXIT_CONFIG = 78;
// EX_DATAERR: the store is unreadable, corrupt or from a newer build: restore, upgrade or move it.
const EXIT_STORE_UNUSABLE = 65;
// EX_UNAVAILABLE: another dispatcher holds the store. A SIGKILLed holder frees it at once (the
// lock dies with its process), so a held lock is a live second dispatcher: stop one, then start.
const EXIT_STORE_LOCKED = 69;
// EX_TEMPFAIL: the PostgreSQL store is unreachable or not taking connections yet (down,
// restarting, network). Not in RestartPreventExitStatus: systemd starts the dispatcher again.
const EXIT_STORE_TEMPFAIL = 75;

const USAGE = `Usage: forgejo-fleet-dispatcher --config FILE

The dispatch API, the provisioning service and the reconciler. Runs until SIGTERM or SIGINT,
then finishes in-flight provisioning and closes the store.

Options:
  -c, --config FILE   the dispatcher's YAML config (see config.example.yaml, docs/configuration.md)
  -h, --help          print this help and exit
  -V, --version       print the version and exit

Config: check a file without starting anything with
  forgejo-fleet validate-config --dispatcher FILE [--no-secrets]

Environment:
  CREDENTIALS_DIRECTORY  base of relative *_file secrets (systemd LoadCredential=); default: the config's folder
  STATE_DIRECTORY        base of relative store.path and store.decision_log (systemd StateDirectory=)
  <name>                 every *_env secret the config names is read from that variable

Exit codes:
  0   stopped cleanly after SIGTERM or SIGINT (or --help, --version)
  1   an unexpected error (the stack trace is printed)
  64  wrong command line
  65  the store is unreadable, corrupt or from a newer build
  69  another dispatcher holds the store
  70  not built and no sources to run (the bin shim; run npm run build)
  75  the PostgreSQL store is unreachable at start (a restart retries)
  78  the config is invalid (every problem is printed), or PostgreSQL refuses the store's
      URL, password, database or TLS settings
`;

async function main(): Promise<number> {
  const commandLine = parseServiceCommandLine({
    name: 'forgejo-fleet-dispatcher',
    usage: USAGE,
    packageJson: new URL('../package.json', import.meta.url),
  });
  if ('exit' in commandLine) return commandLine.exit;
  const { file } = commandLine;
  let config: ReturnType<typeof loadDispatcherConfig>;
  try {
    config = loadDispatcherConfig(file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return EXIT_CONFIG;
  }
  const log = createLogger(config.log.level);
  let dispatcher: Awaited<ReturnType<typeof startDispatcher>>;
  try {
    dispatcher = await startDispatcher({ config, log });
  } catch (error) {
    if (error instanceof StoreLockedError) {
      log.fatal({ path: error.path, holder: error.holder }, 'store in use by another dispatcher');
      process.stderr.write(`forgejo-fleet-dispatcher: ${error.message}\n`);
      return EXIT_STORE_LOCKED;
    }
    if (error instanceof StoreUnreadableError || error instanceof UnsupportedSchemaError) {
      log.fatal({ err: error.message }, 'store unusable');
      process.stderr.write(`forgejo-fleet-dispatcher: ${error.message}\n`);
      return EXIT_STORE_UNUSABLE;
    }
    const postgres = postgresStartError(error, config);
    if (postgres !== undefined) {
      log.fatal({ err: postgres.line, store: postgres.location }, postgres.summary);
      process.stderr.write(`forgejo-fleet-dispatcher: ${postgres.line}\n`);
      return postgres.exit;
    }
    if (error instanceof ListenError) {
      // Exit 1, restarted: the port may be held by the previous instance still stopping.
      log.fatal({ err: error.message, listener: error.key }, 'cannot listen');
      process.stderr.write(`forgejo-fleet-dispatcher: ${error.message}\n`);
      return 1;
    }
    if (!(error instanceof UnsupportedProviderError)) throw error;
    process.stderr.write(`${file}: ${error.message}\n`);
    return EXIT_CONFIG;
  }
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve());
  });
  log.info('shutting down: finishing in-flight provisioning');
  await dispatcher.close();
  return 0;
}

/**
 * A PostgreSQL store that cannot be opened at start, as one line naming where (never the URL's
 * password) and the exit code that tells systemd whether a restart can help.
 */
function postgresStartError(
  error: unknown,
  config: ReturnType<typeof loadDispatcherConfig>,
): { line: string; summary: string; location: string; exit: number } | undefined {
  if (config.store.kind !== 'postgres') return undefined;
  const location = describeLocation(config.store.url?.reveal() ?? '');
  if (error instanceof StoreUnavailableError) {
    return {
      line: `store ${location} is unreachable: ${error.message}; exiting ${EXIT_STORE_TEMPFAIL} to be restarted`,
      summary: 'store unreachable',
      location,
      exit: EXIT_STORE_TEMPFAIL,
    };
  }
  // InvalidArgumentError here is the URL itself (store.url_file or store.url_env): not a URL.
  if (error instanceof StoreAccessError || error instanceof InvalidArgumentError) {
    const source = `store.url from ${config.store.url?.source ?? 'nowhere'}`;
    return {
      line: `store ${location}: ${error instanceof InvalidArgumentError ? `${source}: ${error.message}` : error.message}`,
      summary: 'store refused',
      location,
      exit: EXIT_CONFIG,
    };
  }
  return undefined;
}

process.exitCode = await main();
