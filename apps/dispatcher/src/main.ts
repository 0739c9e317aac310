#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadDispatcherConfig } from '@forgejo-fleet/config';
import { createLogger } from './logger.js';
import { startDispatcher } from './server.js';
import { UnsupportedProviderError } from './wiring.js';

// sysexits EX_CONFIG: systemd's RestartPreventExitStatus=78 stops restart loops on bad config.
const EXIT_CONFIG = 78;
const EXIT_USAGE = 64;

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
