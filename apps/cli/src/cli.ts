import { providerCheck, providerCheckHelp } from './commands/provider-check.js';
import { renderUserDataCommand, renderUserDataHelp } from './commands/render-user-data.js';
import { validateConfig, validateConfigHelp } from './commands/validate-config.js';
import { why, whyHelp } from './commands/why.js';
import { type CliIo, EXIT, UsageError } from './io.js';

type Command = { run: (argv: readonly string[], io: CliIo) => number | Promise<number>; help: string };

const commands: Record<string, Command> = {
  'validate-config': { run: validateConfig, help: validateConfigHelp },
  'render-user-data': { run: renderUserDataCommand, help: renderUserDataHelp },
  'provider-check': { run: providerCheck, help: providerCheckHelp },
  why: { run: why, help: whyHelp },
};

export function usage(): string {
  return `Usage: forgejo-fleet <command> [flags]

Commands:
${Object.entries(commands)
  .map(([name, command]) => `  ${name.padEnd(18)} ${command.help.split('\n')[2] ?? ''}`)
  .join('\n')}

Run "forgejo-fleet <command> --help" for a command's flags.
`;
}

/** Runs one CLI invocation and returns its exit code; never throws for bad input. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = commands[name];
  if (command === undefined) {
    io.stderr(`forgejo-fleet: unknown command "${name}"\n\n${usage()}`);
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
