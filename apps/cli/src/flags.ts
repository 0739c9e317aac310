import { parseArgs } from 'node:util';
import { UsageError } from './io.js';

type Kinds = Record<string, 'string' | 'boolean'>;
type Values<K extends Kinds> = { [N in keyof K]?: K[N] extends 'string' ? string : boolean };

/** `--name value` flags only; anything unknown or positional is a usage error naming it. */
export function parseFlags<K extends Kinds>(argv: readonly string[], kinds: K): Values<K> {
  const options = Object.fromEntries(Object.entries(kinds).map(([name, type]) => [name, { type }]));
  try {
    const { values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
    return values as Values<K>;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
