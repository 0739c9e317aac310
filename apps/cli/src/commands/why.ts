import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type CliIo, EXIT, UsageError } from '../io.js';

export const whyHelp = `Usage: forgejo-fleet why <handle-or-dispatch-id> [--url URL] [--token-file FILE]

Asks the dispatcher why a job waits or what became of its VM: the route matched, the scope
credentials used (by name), limits and budgets, every provider attempt with its error class,
the timers, the current state and what happens next.
  --url URL          the dispatcher (default: $FORGEJO_FLEET_URL, else http://127.0.0.1:8080)
  --token-file FILE  a file holding a client bearer token (default: $FORGEJO_FLEET_TOKEN_FILE,
                     else the token in $FORGEJO_FLEET_TOKEN)`;

export type Fetch = (
  url: string,
  init: { headers: Record<string, string>; signal: AbortSignal },
) => Promise<Response>;

const TIMEOUT_MS = 10_000;

export async function why(argv: readonly string[], io: CliIo & { fetch?: Fetch }): Promise<number> {
  let parsed: ReturnType<typeof parseWhyArgs>;
  try {
    parsed = parseWhyArgs(argv);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const url = (parsed.url ?? io.env.FORGEJO_FLEET_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const token = readToken(parsed.tokenFile ?? io.env.FORGEJO_FLEET_TOKEN_FILE, io);
  if (token === undefined) {
    throw new UsageError('no client token: pass --token-file FILE or set FORGEJO_FLEET_TOKEN_FILE');
  }
  const target = `${url}/v1/dispatches/${encodeURIComponent(parsed.target)}/why`;
  let response: Response;
  try {
    response = await (io.fetch ?? fetch)(target, {
      headers: { authorization: `Bearer ${token}`, accept: 'text/plain' },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    io.stderr(`forgejo-fleet why: cannot reach the dispatcher at ${url}: ${(error as Error).message}\n`);
    return EXIT.failure;
  }
  const body = await response.text();
  if (!response.ok) {
    io.stderr(`forgejo-fleet why: the dispatcher answered ${response.status}: ${errorMessage(body)}\n`);
    return EXIT.failure;
  }
  io.stdout(body.endsWith('\n') ? body : `${body}\n`);
  return EXIT.ok;
}

function parseWhyArgs(argv: readonly string[]) {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { url: { type: 'string' }, 'token-file': { type: 'string' } },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length !== 1 || positionals[0] === undefined || positionals[0] === '') {
    throw new Error('expected exactly one job handle or dispatch id');
  }
  return { target: positionals[0], url: values.url, tokenFile: values['token-file'] };
}

function readToken(file: string | undefined, io: CliIo): string | undefined {
  if (file !== undefined) {
    const text = io.readFile ? io.readFile(file) : readFileSync(file, 'utf8');
    const token = text.trim();
    if (token === '') throw new UsageError(`token file ${file} is empty`);
    return token;
  }
  const env = io.env.FORGEJO_FLEET_TOKEN?.trim();
  return env === undefined || env === '' ? undefined : env;
}

// The API's errors are `{ error: { message } }`; anything else is shown as it came, cut short.
function errorMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } };
    if (typeof parsed.error?.message === 'string') return parsed.error.message;
  } catch {
    // not JSON
  }
  return body.slice(0, 200);
}
