import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, loadDispatcherConfig } from '@forgejo-fleet/config';
import { copySqliteToPostgres, type PostgresStoreOptions, type TlsMode } from '@forgejo-fleet/store';
import { parseFlags } from '../flags.js';
import { type CliIo, configLoadOptions, EXIT, UsageError } from '../io.js';

export const storeHelp = `Usage: forgejo-fleet store migrate --from sqlite:PATH --to postgres (--dispatcher FILE | --to-url-file FILE)

Copies a single-host fleet's SQLite store into an empty PostgreSQL database, in one transaction.

Every dispatch with its transitions, the decision log, the warm VMs and the store id (the owner
mark on every VM and runner registration) move over, the row counts are checked, then a summary
is printed. Stop the dispatcher first: the command takes the SQLite store's owner lock and refuses
while a dispatcher holds it. It refuses a target that already holds dispatches, decisions or warm
VMs (never merges two fleets). Nothing is written to the target unless everything is.

  --from sqlite:PATH     the SQLite store (the dispatcher's store.path; relative to this folder)
  --to postgres          the only target kind
  --dispatcher FILE      take the target from this config's store block (kind: postgres, its
                         url_file/url_env, tls): the config the dispatchers will start with
  --to-url-file FILE     or a file holding postgres://user:password@host:port/database
                         (else the URL in FORGEJO_FLEET_STORE_URL)
  --tls MODE             with --to-url-file or the variable: disable, require or verify-full
                         (default verify-full, as store.tls.mode)
  --tls-ca-file FILE     PEM of the CA that signed the server's certificate (verify-full)

The URL is never a flag: a password on the command line shows in ps and in shell history.
Exit codes: 0 copied, 1 refused or failed (the message says why; the target is unchanged),
2 invalid --dispatcher config, 64 wrong command line. See docs/ha.md for the whole switch.`;

const TLS_MODES: readonly TlsMode[] = ['disable', 'require', 'verify-full'];
const URL_VARIABLE = 'FORGEJO_FLEET_STORE_URL';

/** `forgejo-fleet store <subcommand>`: only `migrate` for now. */
export async function store(argv: readonly string[], io: CliIo): Promise<number> {
  const [subcommand, ...rest] = argv;
  if (subcommand !== 'migrate') {
    throw new UsageError(
      subcommand === undefined ? 'store needs a subcommand: migrate' : `unknown subcommand "${subcommand}"`,
    );
  }
  return migrate(rest, io);
}

async function migrate(argv: readonly string[], io: CliIo): Promise<number> {
  const flags = parseFlags(argv, {
    from: 'string',
    to: 'string',
    dispatcher: 'string',
    'to-url-file': 'string',
    'to-url': 'string',
    tls: 'string',
    'tls-ca-file': 'string',
  });
  if (flags['to-url'] !== undefined) {
    throw new UsageError(
      `--to-url is not accepted: a URL with its password on the command line shows in ps and shell history; put it in a file (--to-url-file) or in ${URL_VARIABLE}`,
    );
  }
  if (flags.from === undefined || !flags.from.startsWith('sqlite:') || flags.from === 'sqlite:') {
    throw new UsageError('--from must be sqlite:PATH (the SQLite store file)');
  }
  if (flags.to !== 'postgres') throw new UsageError('--to must be postgres');
  const sqlitePath = resolve(flags.from.slice('sqlite:'.length));
  const target =
    flags.dispatcher === undefined ? fromUrl(flags, io) : fromConfig(flags.dispatcher, flags, io);
  if (typeof target === 'number') return target;

  io.stderr(`copying sqlite:${sqlitePath} …\n`);
  const result = await copySqliteToPostgres({ sqlitePath, postgres: target });
  const width = Math.max(...Object.keys(result.rows).map((table) => table.length));
  io.stdout(
    [
      `copied sqlite:${sqlitePath} to ${result.location} (row counts checked)`,
      `  store id    ${result.storeId}${result.replacedStoreId === undefined ? '' : ` (replaced the target's unused ${result.replacedStoreId})`}`,
      ...Object.entries(result.rows).map(([table, rows]) => `  ${table.padEnd(width)}  ${rows}`),
      'next: start the dispatchers with this store block (kind: postgres); keep the SQLite file, unused, as the way back',
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}

type Flags = {
  tls?: string | undefined;
  'tls-ca-file'?: string | undefined;
  'to-url-file'?: string | undefined;
};

function fromConfig(file: string, flags: Flags, io: CliIo): PostgresStoreOptions | number {
  for (const flag of ['to-url-file', 'tls', 'tls-ca-file'] as const) {
    if (flags[flag] !== undefined) {
      throw new UsageError(`--${flag} and --dispatcher exclude each other: the config's store block says it`);
    }
  }
  let config: ReturnType<typeof loadDispatcherConfig>;
  try {
    config = loadDispatcherConfig(file, configLoadOptions(io));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr(`${error.message}\n`);
    return EXIT.invalidConfig;
  }
  const { store } = config;
  if (store.kind !== 'postgres' || store.url === undefined) {
    throw new UsageError(
      `${file}: store.kind is ${store.kind}; pass the config the dispatchers will start with (store.kind: postgres), or --to-url-file`,
    );
  }
  return {
    url: store.url.reveal(),
    statementTimeoutMs: store.statement_timeout,
    tls: { mode: store.tls.mode, caFile: store.tls.ca_file },
  };
}

function fromUrl(flags: Flags, io: CliIo): PostgresStoreOptions {
  const mode = flags.tls ?? 'verify-full';
  if (!TLS_MODES.includes(mode as TlsMode)) {
    throw new UsageError(`--tls must be one of ${TLS_MODES.join(', ')}`);
  }
  if (flags['tls-ca-file'] !== undefined && mode !== 'verify-full') {
    throw new UsageError('--tls-ca-file is only for --tls verify-full');
  }
  let url: string | undefined;
  const file = flags['to-url-file'];
  if (file !== undefined) {
    try {
      url = (io.readFile ?? ((path: string) => readFileSync(path, 'utf8')))(file).trim();
    } catch (error) {
      throw new Error(`--to-url-file ${file} cannot be read: ${(error as Error).message}`);
    }
    if (url === '') throw new Error(`--to-url-file ${file} is empty`);
  } else {
    url = io.env[URL_VARIABLE]?.trim();
    if (url === undefined || url === '') {
      throw new UsageError(`name the target: --dispatcher FILE, --to-url-file FILE or ${URL_VARIABLE}`);
    }
  }
  return {
    url,
    tls: {
      mode: mode as TlsMode,
      ...(flags['tls-ca-file'] === undefined ? {} : { caFile: resolve(flags['tls-ca-file']) }),
    },
  };
}
