#!/usr/bin/env node
import { type AutoscalerConfig, ConfigError, loadAutoscalerConfig } from '@forgejo-fleet/config';
import { ListenError, parseServiceCommandLine } from '@forgejo-fleet/runtime';
import { createLogger } from './logger.js';
import { startAutoscaler } from './server.js';

// sysexits EX_CONFIG: systemd's RestartPreventExitStatus=78 stops restart loops on bad config.
const EXIT_CONFIG = 78;

const USAGE = `Usage: forgejo-fleet-autoscaler --config FILE

Polls each configured scope's job queue, receives and manages Forgejo webhooks, and asks the
dispatcher for one VM per waiting job. Runs until SIGTERM or SIGINT.

Options:
  -c, --config FILE   the autoscaler's YAML config (see autoscaler.example.yaml, docs/configuration.md)
  -h, --help          print this help and exit
  -V, --version       print the version and exit

Config: check a file without starting anything with
  forgejo-fleet validate-config --autoscaler FILE [--no-secrets]

Environment:
  CREDENTIALS_DIRECTORY  base of relative *_file secrets (systemd LoadCredential=); default: the config's folder
  <name>                 every *_env secret the config names is read from that variable

Exit codes:
  0   stopped cleanly after SIGTERM or SIGINT (or --help, --version)
  1   an unexpected error (the stack trace is printed)
  64  wrong command line
  70  not built and no sources to run (the bin shim; run npm run build)
  78  the config is invalid (every problem is printed)
`;

async function main(): Promise<number> {
  const commandLine = parseServiceCommandLine({
    name: 'forgejo-fleet-autoscaler',
    usage: USAGE,
    packageJson: new URL('../package.json', import.meta.url),
  });
  if ('exit' in commandLine) return commandLine.exit;
  const { file } = commandLine;
  let config: AutoscalerConfig;
  try {
    config = loadAutoscalerConfig(file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return EXIT_CONFIG;
  }
  const log = createLogger(config.log.level);
  let autoscaler: Awaited<ReturnType<typeof startAutoscaler>>;
  try {
    autoscaler = await startAutoscaler({ config, log });
  } catch (error) {
    if (!(error instanceof ListenError)) throw error;
    // Exit 1, restarted: the port may be held by the previous instance still stopping.
    log.fatal({ err: error.message, listener: error.key }, 'cannot listen');
    process.stderr.write(`forgejo-fleet-autoscaler: ${error.message}\n`);
    return 1;
  }
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve());
  });
  await autoscaler.close();
  log.info('stopped');
  return 0;
}

process.exitCode = await main();
