import { describe, expect, it, vi } from 'vitest';
import { EXIT_USAGE, parseServiceCommandLine } from './service-command-line.js';

const COMMAND = {
  name: 'forgejo-fleet-test',
  usage: 'Usage: forgejo-fleet-test --config FILE\n',
  packageJson: new URL('../package.json', import.meta.url),
};

function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const result = parseServiceCommandLine(COMMAND, {
    argv,
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
  });
  return { result, out: out.join(''), err: err.join('') };
}

describe('parseServiceCommandLine', () => {
  it.each([[['--config', 'a.yaml']], [['-c', 'a.yaml']]])('returns the config file of %j', (argv) => {
    expect(run(argv)).toEqual({ result: { file: 'a.yaml' }, out: '', err: '' });
  });

  it('prints the usage for --help and the version for --version, both exit 0', () => {
    expect(run(['--help'])).toEqual({ result: { exit: 0 }, out: COMMAND.usage, err: '' });
    const version = run(['-V']);
    expect(version.result).toEqual({ exit: 0 });
    expect(version.out).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it.each([
    [['--nope'], "forgejo-fleet-test: Unknown option '--nope'"],
    [[], 'forgejo-fleet-test: --config FILE is required'],
  ])('exits 64 with the usage on stderr for %j', (argv, message) => {
    const { result, out, err } = run(argv);
    expect(result).toEqual({ exit: EXIT_USAGE });
    expect(out).toBe('');
    expect(err).toContain(message);
    expect(err.endsWith(COMMAND.usage)).toBe(true);
  });

  it('writes to the process streams when none are given', () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(parseServiceCommandLine(COMMAND, { argv: ['--help'] })).toEqual({ exit: 0 });
      expect(out).toHaveBeenCalledWith(COMMAND.usage);
      expect(parseServiceCommandLine(COMMAND, { argv: ['--bogus'] })).toEqual({ exit: EXIT_USAGE });
      expect(String(err.mock.calls[0]?.[0])).toContain("Unknown option '--bogus'");
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });
});
