import { readFileSync } from 'node:fs';
import { z } from 'zod';

const PackageJson = z.object({ version: z.string().min(1) });

/**
 * The `version` of the package.json at `url`, for a command's `--version`. Entries resolve it
 * relative to themselves (`new URL('../package.json', import.meta.url)`), which holds from `src/`
 * in a checkout and from `dist/` in a build or release alike.
 */
export function packageVersion(
  url: URL,
  read: (url: URL) => string = (at) => readFileSync(at, 'utf8'),
): string {
  const parsed = PackageJson.safeParse(JSON.parse(read(url)));
  if (!parsed.success) throw new Error(`${url.pathname}: no "version" string`);
  return parsed.data.version;
}
