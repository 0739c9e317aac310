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

/**
 * A verb: `summary` is its line in the top-level help (one complete phrase, written here rather
 * than cut from its help text), `subcommands` the words after it that name what runs (they show
 * in the top-level help and in the verb's error messages, e.g. `forgejo-fleet store migrate: …`).
 */
type Command = {
  run: (argv: readonly string[], io: CliIo) => number | Promise<number>;
  help: string;
  summary: string;
  subcommands?: readonly string[];
};

const commands: Record<string, Command> = {
  'validate-config': {
    run: validateConfig,
    help: validateConfigHelp,
    summary: 'Checks config files and prints "ok", or prints every problem and exits 2.',
  },
  'render-user-data': {
    run: renderUserDataCommand,
    help: renderUserDataHelp,
    summary: "Prints a route's cloud-init user-data, with a placeholder runner token.",
  },
  'provider-check': {
    run: providerCheck,
    help: providerCheckHelp,
    summary: 'Runs the conformance checks against a provider, then deletes what it made.',
  },
  status: {
    run: status,
    help: statusHelp,
    summary: "One screen: routes, live VMs, warm pools, recent refusals, today's budgets.",
  },
  list: { run: list, help: listHelp, summary: 'Lists dispatches: filters, pages, a table or --json.' },
  get: { run: get, help: getHelp, summary: 'Shows one dispatch with its state transitions.' },
  cancel: {
    run: cancel,
    help: cancelHelp,
    summary: 'Cancels a dispatch: its VM and its runner registration are deleted.',
  },
  dispatch: {
    run: dispatch,
    help: dispatchHelp,
    summary: 'Asks for one VM by hand, by scope and labels (no Forgejo job).',
  },
  routes: {
    run: routes,
    help: routesHelp,
    summary: 'Lists the routes: labels, providers, live VMs against limits, warm pools.',
  },
  decisions: {
    run: decisions,
    help: decisionsHelp,
    summary: 'Prints the decision log; --follow keeps printing new decisions.',
  },
  why: { run: why, help: whyHelp, summary: 'Asks the dispatcher why a job waits or what became of its VM.' },
  store: {
    run: store,
    help: storeHelp,
    summary: 'Copies a single-host SQLite store into an empty PostgreSQL database.',
    subcommands: ['migrate'],
  },
};

export function usage(): string {
  return `Usage: forgejo-fleet <command> [flags]

Commands:
${Object.entries(commands)
  .map(([name, command]) => `  ${displayName(name, command).padEnd(18)} ${command.summary}`)
  .join('\n')}

Run "forgejo-fleet <command> --help" for a command's flags.
${GLOBAL_HELP}`;
}

function displayName(name: string, command: Command): string {
  return command.subcommands === undefined ? name : `${name} ${command.subcommands.join('|')}`;
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
  2   a config file is invalid or unreadable (every problem is printed): validate-config,
      render-user-data, provider-check, store migrate --dispatcher
  64  wrong command line (usage on stderr), or provider-check without a needed --yes
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
  // "store migrate", not "store": the message names what the operator ran.
  const sub = rest[0];
  const label = sub !== undefined && command.subcommands?.includes(sub) ? `${name} ${sub}` : name;
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`forgejo-fleet ${label}: ${error.message}\n\n${command.help}\n`);
      return EXIT.usage;
    }
    io.stderr(`forgejo-fleet ${label}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failure;
  }
}
