import { ConfigError, loadAutoscalerConfig, loadDispatcherConfig } from '@forgejo-fleet/config';
import { parseFlags } from '../flags.js';
import { type CliIo, configLoadOptions, EXIT, UsageError } from '../io.js';

export const validateConfigHelp = `Usage: forgejo-fleet validate-config [--dispatcher FILE] [--autoscaler FILE]

Checks the files (schema, cross-references, secrets readable) and prints "ok",
or prints every problem and exits 2.`;

export function validateConfig(argv: readonly string[], io: CliIo): number {
  const flags = parseFlags(argv, { dispatcher: 'string', autoscaler: 'string' });
  if (flags.dispatcher === undefined && flags.autoscaler === undefined) {
    throw new UsageError('validate-config needs --dispatcher FILE and/or --autoscaler FILE');
  }
  const options = configLoadOptions(io);
  const errors: string[] = [];
  const checks: [string | undefined, (file: string) => unknown][] = [
    [flags.dispatcher, (file) => loadDispatcherConfig(file, options)],
    [flags.autoscaler, (file) => loadAutoscalerConfig(file, options)],
  ];
  for (const [file, load] of checks) {
    if (file === undefined) continue;
    try {
      load(file);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      errors.push(...error.lines());
    }
  }
  if (errors.length > 0) {
    io.stderr(`${errors.join('\n')}\n`);
    return EXIT.invalidConfig;
  }
  io.stdout('ok\n');
  return EXIT.ok;
}
