import { UsageError } from './args.js';

/**
 * `ResolveSecretURL` for `--token-url`: only `file:` URLs (host ignored), `$CREDENTIALS_DIRECTORY` replaced
 * from the environment, content whitespace-trimmed and non-empty.
 */
export async function readTokenUrl(
  tokenUrl: string,
  readFile: (path: string) => Promise<string>,
  env: Record<string, string | undefined>,
): Promise<string> {
  const raw = tokenUrl.replaceAll('$CREDENTIALS_DIRECTORY', env.CREDENTIALS_DIRECTORY ?? '');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`invalid --token-url ${JSON.stringify(tokenUrl)}`);
  }
  if (url.protocol !== 'file:')
    throw new UsageError(`--token-url: unsupported scheme ${url.protocol} (only file:)`);
  let content: string;
  try {
    content = await readFile(decodeURIComponent(url.pathname));
  } catch (err) {
    throw new UsageError(
      `--token-url: cannot read ${url.pathname}: ${err instanceof Error ? err.message : err}`,
    );
  }
  const token = content.trim();
  if (token === '') throw new UsageError(`--token-url: ${url.pathname} is empty`);
  if (/\s/.test(token))
    throw new UsageError(`--token-url: ${url.pathname} contains whitespace inside the token`);
  return token;
}
