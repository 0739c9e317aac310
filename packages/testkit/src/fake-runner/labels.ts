/** A runner label `name[:scheme[:arg]]` (forgejo-runner `internal/pkg/labels`). */
export interface RunnerLabel {
  name: string;
  scheme: 'docker' | 'host' | 'lxc';
  arg: string;
}

/** Parses like `labels.Parse`: split on the first two `:`; a bare name means the docker scheme. */
export function parseRunnerLabel(input: string): RunnerLabel {
  const first = input.indexOf(':');
  const name = first === -1 ? input : input.slice(0, first);
  const rest = first === -1 ? null : input.slice(first + 1);
  if (name.trim() !== name) {
    throw new Error(`invalid label ${JSON.stringify(name)}: starting or ending with a space is invalid`);
  }
  if (rest === null) return { name, scheme: 'docker', arg: '' };
  const second = rest.indexOf(':');
  const scheme = second === -1 ? rest : rest.slice(0, second);
  const arg = second === -1 ? null : rest.slice(second + 1);
  if (scheme !== 'docker' && scheme !== 'host' && scheme !== 'lxc')
    throw new Error(`unsupported schema: ${scheme}`);
  if (arg !== null && scheme === 'host') throw new Error(`schema: ${scheme} does not have arguments`);
  return { name, scheme, arg: arg ?? '' };
}
