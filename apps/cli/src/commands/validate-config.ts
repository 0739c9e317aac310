import {
  ConfigError,
  type DispatcherConfig,
  loadAutoscalerConfig,
  loadDispatcherConfig,
} from '@forgejo-fleet/config';
import { checkPostgresUrl, InvalidArgumentError } from '@forgejo-fleet/store';
import { withoutSecrets } from '../config-without-secrets.js';
import { parseFlags } from '../flags.js';
import { type CliIo, configLoadOptions, EXIT, UsageError } from '../io.js';

export const validateConfigHelp = `Usage: forgejo-fleet validate-config [--dispatcher FILE] [--autoscaler FILE] [--no-secrets]

Checks the files (schema, cross-references, secrets readable, a PostgreSQL store URL as the
store will take it) and prints "ok",
or prints every problem and exits 2.

  --dispatcher FILE  the dispatcher's config (config.example.yaml)
  --autoscaler FILE  the autoscaler's config (autoscaler.example.yaml)
  --no-secrets       check everything but the secrets' values: no *_file is read and no
                     *_env looked up (for CI, or a host without the credentials). Two
                     clients naming the same secret file or variable are still reported.

Exit codes: 0 valid, 2 invalid, 64 wrong command line.`;

export function validateConfig(argv: readonly string[], io: CliIo): number {
  const flags = parseFlags(argv, { dispatcher: 'string', autoscaler: 'string', 'no-secrets': 'boolean' });
  if (flags.dispatcher === undefined && flags.autoscaler === undefined) {
    throw new UsageError('validate-config needs --dispatcher FILE and/or --autoscaler FILE');
  }
  const options = (file: string) => (flags['no-secrets'] ? withoutSecrets(io, file) : configLoadOptions(io));
  const errors: string[] = [];
  const checks: [string | undefined, (file: string) => unknown][] = [
    [
      flags.dispatcher,
      (file) => {
        const config = loadDispatcherConfig(file, options(file));
        if (!flags['no-secrets']) errors.push(...storeUrlProblems(config, file));
      },
    ],
    [flags.autoscaler, (file) => loadAutoscalerConfig(file, options(file))],
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
  io.stdout(flags['no-secrets'] ? 'ok (secrets not read)\n' : 'ok\n');
  return EXIT.ok;
}

/**
 * The PostgreSQL URL read from its secret, held to the rules the store applies when it opens
 * (a postgres:// URL, TLS only in store.tls), so a URL the dispatcher would refuse fails here.
 */
function storeUrlProblems(config: DispatcherConfig, file: string): string[] {
  const { url } = config.store;
  if (config.store.kind !== 'postgres' || url === undefined) return [];
  try {
    checkPostgresUrl(url.reveal());
    return [];
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    const problem = error.message.replace(/^url: /, '');
    return [`${file}: store.url (from ${url.source}): ${problem}`];
  }
}
