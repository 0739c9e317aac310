import { parseArgs } from 'node:util';
import { packageVersion } from './package-version.js';

/** sysexits EX_USAGE: a wrong command line. */
export const EXIT_USAGE = 64;

export interface ServiceCommand {
  /** The command's name, as errors start with it. */
  readonly name: string;
  /** The whole `--help` text. */
  readonly usage: string;
  /** The command's package.json, for `--version`. */
  readonly packageJson: URL;
}

export interface CommandLineIo {
  readonly argv?: readonly string[];
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
}

/**
 * The command line both services take: `--config FILE`, `--help`, `--version`. Returns the config
 * file, or the exit code when there is nothing to run (help or version printed: 0; a wrong
 * command line: 64 with the usage on stderr).
 */
export function parseServiceCommandLine(
  command: ServiceCommand,
  io: CommandLineIo = {},
): { file: string } | { exit: number } {
  const stdout = io.stdout ?? process.stdout.write.bind(process.stdout);
  const stderr = io.stderr ?? process.stderr.write.bind(process.stderr);
  let values: { config?: string | undefined; help?: boolean | undefined; version?: boolean | undefined };
  try {
    values = parseArgs({
      args: [...(io.argv ?? process.argv.slice(2))],
      options: {
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
      strict: true,
    }).values;
  } catch (error) {
    stderr(`${command.name}: ${(error as Error).message}\n\n${command.usage}`);
    return { exit: EXIT_USAGE };
  }
  if (values.help) {
    stdout(command.usage);
    return { exit: 0 };
  }
  if (values.version) {
    stdout(`${packageVersion(command.packageJson)}\n`);
    return { exit: 0 };
  }
  if (values.config === undefined) {
    stderr(`${command.name}: --config FILE is required\n\n${command.usage}`);
    return { exit: EXIT_USAGE };
  }
  return { file: values.config };
}
