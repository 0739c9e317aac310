import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createDispatchApiClient, type Fetch } from '@forgejo-fleet/dispatch-api';
import { z } from 'zod';
import { type CliIo, EXIT, UsageError } from '../io.js';

export const whyHelp = `Usage: forgejo-fleet why <handle-or-dispatch-id> [--url URL] [--token-file FILE]

Asks the dispatcher why a job waits or what became of its VM: the route matched, the scope
credentials used (by name), limits and budgets, every provider attempt with its error class,
the timers, the current state and what happens next.
  --url URL          the dispatcher (default: $FORGEJO_FLEET_URL, else http://127.0.0.1:8080)
  --token-file FILE  a file holding a client bearer token (default: $FORGEJO_FLEET_TOKEN_FILE,
                     else the token in $FORGEJO_FLEET_TOKEN)`;

export type { Fetch } from '@forgejo-fleet/dispatch-api';

const TIMEOUT_MS = 10_000;
const DispatcherUrl = z.url({ protocol: /^https?$/ });

export async function why(argv: readonly string[], io: CliIo & { fetch?: Fetch }): Promise<number> {
  let parsed: ReturnType<typeof parseWhyArgs>;
  try {
    parsed = parseWhyArgs(argv);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const given = parsed.url ?? io.env.FORGEJO_FLEET_URL ?? 'http://127.0.0.1:8080';
  if (!DispatcherUrl.safeParse(given).success) {
    throw new UsageError(`--url (or FORGEJO_FLEET_URL): expected an http(s) URL, got "${given}"`);
  }
  const url = given.replace(/\/+$/, '');
  const token = readToken(parsed.tokenFile ?? io.env.FORGEJO_FLEET_TOKEN_FILE, io);
  if (token === undefined) {
    throw new UsageError('no client token: pass --token-file FILE or set FORGEJO_FLEET_TOKEN_FILE');
  }
  const api = createDispatchApiClient({
    url,
    token,
    timeoutMs: TIMEOUT_MS,
    concurrency: 1,
    // One attempt: an operator at a terminal sees the failure at once and runs the command again.
    retry: { attempts: 1 },
    ...(io.fetch ? { fetch: io.fetch } : {}),
  });
  const result = await api.why(parsed.target);
  if (result.ok) {
    io.stdout(result.value.endsWith('\n') ? result.value : `${result.value}\n`);
    return EXIT.ok;
  }
  if (result.kind === 'refused') {
    io.stderr(`forgejo-fleet why: the dispatcher answered ${result.status}: ${result.message}\n`);
  } else {
    io.stderr(`forgejo-fleet why: no usable answer from the dispatcher at ${url}: ${result.message}\n`);
  }
  return EXIT.failure;
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
