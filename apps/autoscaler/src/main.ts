#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { type AutoscalerConfig, ConfigError, loadAutoscalerConfig } from '@forgejo-fleet/config';
import { createLogger } from './logger.js';
import { startAutoscaler } from './server.js';

// sysexits EX_CONFIG: systemd's RestartPreventExitStatus=78 stops restart loops on bad config.
const EXIT_CONFIG = 78;
const EXIT_USAGE = 64;

async function main(): Promise<number> {
  let file: string | undefined;
  try {
    file = parseArgs({ options: { config: { type: 'string', short: 'c' } }, strict: true }).values.config;
  } catch (error) {
    process.stderr.write(`forgejo-fleet-autoscaler: ${(error as Error).message}\n`);
    return EXIT_USAGE;
  }
  if (file === undefined) {
    process.stderr.write('usage: forgejo-fleet-autoscaler --config FILE\n');
    return EXIT_USAGE;
  }
  let config: AutoscalerConfig;
  try {
    config = loadAutoscalerConfig(file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return EXIT_CONFIG;
  }
  const log = createLogger(config.log.level);
  const autoscaler = await startAutoscaler({ config, log });
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve());
  });
  await autoscaler.close();
  log.info('stopped');
  return 0;
}

process.exitCode = await main();
