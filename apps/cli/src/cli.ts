import { packageVersion } from '@forgejo-fleet/runtime';
import { cancel, cancelHelp } from './commands/cancel.js';
import { decisions, decisionsHelp } from './commands/decisions.js';
import { dispatch, dispatchHelp } from './commands/dispatch.js';
import { get, getHelp } from './commands/get.js';
import { list, listHelp } from './commands/list.js';
import { providerCheck, providerCheckHelp } from './commands/provider-check.js';
import { renderUserDataCommand, renderUserDataHelp } from './commands/render-user-data.js';
import { routes, routesHelp } from './commands/routes.js';
import { status, statusHelp } from './commands/status.js';
import { store, storeHelp } from './commands/store-migrate.js';
import { validateConfig, validateConfigHelp } from './commands/validate-config.js';
import { why, whyHelp } from './commands/why.js';
import { type CliIo, EXIT, UsageError } from './io.js';

type Command = { run: (argv: readonly string[], io: CliIo) => number | Promise<number>; help: string };

const commands: Record<string, Command> = {
  'validate-config': { run: validateConfig, help: validateConfigHelp },
  'render-user-data': { run: renderUserDataCommand, help: renderUserDataHelp },
  'provider-check': { run: providerCheck, help: providerCheckHelp },
  status: { run: status, help: statusHelp },
  list: { run: list, help: listHelp },
  get: { run: get, help: getHelp },
  cancel: { run: cancel, help: cancelHelp },
  dispatch: { run: dispatch, help: dispatchHelp },
  routes: { run: routes, help: routesHelp },
  decisions: { run: decisions, help: decisionsHelp },
  why: { run: why, help: whyHelp },
  store: { run: store, help: storeHelp },
};

export function usage(): string {
  return `Usage: forgejo-fleet <command> [flags]

Commands:
${Object.entries(commands)
  .map(([name, command]) => `  ${name.padEnd(18)} ${command.help.split('\n')[2] ?? ''}`)
  .join('\n')}

Run "forgejo-fleet <command> --help" for a command's flags.
${GLOBAL_HELP}`;
}

// Options, config, environment and exit codes shared by every command.
const GLOBAL_HELP = `
Options:
  -h, --help       this help (or a command's, after the command)
  -V, --version    print the version and exit

Config: commands that read config files take --dispatcher FILE and/or --autoscaler FILE
(config.example.yaml, autoscaler.example.yaml); relative *_file secrets resolve against
$CREDENTIALS_DIRECTORY, else the file's folder.

Environment:
  FORGEJO_FLEET_URL         the dispatcher's URL for commands that call it (--url wins)
  FORGEJO_FLEET_TOKEN_FILE  a file holding an API client token (--token-file wins)
  FORGEJO_FLEET_TOKEN       the token itself, when no token file is given
  CREDENTIALS_DIRECTORY     base of relative *_file secrets in config files

Exit codes:
  0   ok
  1   the command failed (the dispatcher, a provider or a file said no; the message says which)
  2   validate-config: a config file is invalid (every problem is printed)
  64  wrong command line (usage on stderr)
  70  not built and no sources to run (the bin shim; run npm run build)
`;

/** Runs one CLI invocation and returns its exit code; never throws for bad input. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage());
    return EXIT.ok;
  }
  if (name === undefined) {
    io.stderr(usage());
    return EXIT.usage;
  }
  if (name === '--version' || name === '-V') {
    io.stdout(`${packageVersion(new URL('../package.json', import.meta.url))}\n`);
    return EXIT.ok;
  }
  const command = commands[name];
  if (command === undefined) {
    io.stderr(
      `forgejo-fleet: unknown ${name.startsWith('-') ? 'option' : 'command'} "${name}"\n\n${usage()}`,
    );
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(`${command.help}\n`);
    return EXIT.ok;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`forgejo-fleet ${name}: ${error.message}\n\n${command.help}\n`);
      return EXIT.usage;
    }
    io.stderr(`forgejo-fleet ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failure;
  }
}
