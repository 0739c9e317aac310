#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadDispatcherConfig } from '@forgejo-fleet/config';
import { StoreLockedError, StoreUnreadableError, UnsupportedSchemaError } from '@forgejo-fleet/store';
import { createLogger } from './logger.js';
import { startDispatcher } from './server.js';
import { UnsupportedProviderError } from './wiring.js';

// sysexits codes; the systemd unit lists every permanent one in RestartPreventExitStatus=, so a
// failure a restart cannot fix never turns into a restart loop (docs/troubleshooting.md).
// EX_CONFIG: the config is wrong.
const EXIT_CONFIG = 78;
const EXIT_USAGE = 64;
// EX_DATAERR: the store is unreadable, corrupt or from a newer build: restore, upgrade or move it.
const EXIT_STORE_UNUSABLE = 65;
// EX_UNAVAILABLE: another dispatcher holds the store. A SIGKILLed holder frees it at once (the
// lock dies with its process), so a held lock is a live second dispatcher: stop one, then start.
const EXIT_STORE_LOCKED = 69;

async function main(): Promise<number> {
  let file: string | undefined;
  try {
    file = parseArgs({ options: { config: { type: 'string', short: 'c' } }, strict: true }).values.config;
  } catch (error) {
    process.stderr.write(`forgejo-fleet-dispatcher: ${(error as Error).message}\n`);
    return EXIT_USAGE;
  }
  if (file === undefined) {
    process.stderr.write('usage: forgejo-fleet-dispatcher --config FILE\n');
    return EXIT_USAGE;
  }
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

process.exitCode = await main();
