import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  type ApiFailure,
  createDispatchApiClient,
  type DispatchApiClient,
  type Fetch,
  FieldError,
} from '@forgejo-fleet/dispatch-api';
import type { Clock } from '@forgejo-fleet/runtime';
import { z } from 'zod';
import { type CliIo, EXIT, UsageError } from './io.js';

/**
 * The flags and environment every verb that talks to the dispatcher shares, in one place so
 * `list`, `cancel`, `why`, `status`… find the dispatcher and the token the same way.
 */
export const API_FLAGS_HELP = `  --url URL          the dispatcher (default: $FORGEJO_FLEET_URL, else http://127.0.0.1:8080)
  --token-file FILE  a file holding a client bearer token (default: $FORGEJO_FLEET_TOKEN_FILE,
                     else the token in $FORGEJO_FLEET_TOKEN)`;

export const DEFAULT_URL = 'http://127.0.0.1:8080';
const TIMEOUT_MS = 10_000;
const DispatcherUrl = z.url({ protocol: /^https?$/ });

/** What an API verb may touch besides the terminal: injected by tests, the process's by default. */
export interface ApiIo extends CliIo {
  readonly fetch?: Fetch;
  readonly clock?: Pick<Clock, 'now' | 'sleep'>;
  /** Ends `--follow`; without it the verb stops on SIGINT. */
  readonly signal?: AbortSignal;
}

type Kinds = Readonly<Record<string, 'string' | 'boolean'>>;

export interface Parsed<T> {
  readonly flags: T;
  readonly positionals: readonly string[];
  readonly connection: { readonly url?: string | undefined; readonly tokenFile?: string | undefined };
}

/**
 * Parses a verb's argv: `kinds` tells node which flags take a value, `schema` checks them (its keys
 * are the flag names), `positionals` names the arguments the verb takes. Every mistake is a
 * UsageError naming the flag or argument.
 */
export function parseApiArgs<S extends z.ZodType>(
  argv: readonly string[],
  kinds: Kinds,
  schema: S,
  positionals: readonly string[] = [],
): Parsed<z.output<S>> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        ...Object.fromEntries(Object.entries(kinds).map(([name, type]) => [name, { type }])),
        url: { type: 'string' },
        'token-file': { type: 'string' },
      },
      strict: true,
      allowPositionals: positionals.length > 0,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const given = parsed.positionals;
  if (given.length !== positionals.length || given.some((p) => p.trim() === '')) {
    throw new UsageError(
      positionals.length === 0
        ? `unexpected argument "${given[0]}"`
        : `expected exactly ${positionals.map((p) => `<${p}>`).join(' ')}, got ${given.length} argument(s)`,
    );
  }
  const { url, 'token-file': tokenFile, ...rest } = parsed.values;
  const flags = schema.safeParse(rest);
  if (!flags.success) {
    const issue = flags.error.issues[0];
    const name = issue?.path[0];
    throw new UsageError(
      `${typeof name === 'string' ? `--${name}` : 'flags'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return {
    flags: flags.data,
    positionals: given,
    connection: {
      url: typeof url === 'string' ? url : undefined,
      tokenFile: typeof tokenFile === 'string' ? tokenFile : undefined,
    },
  };
}

/** The dispatch API client for `--url`/`--token-file` or the environment; usage errors name the flag. */
export function connect(
  connection: Parsed<unknown>['connection'],
  io: ApiIo,
): { api: DispatchApiClient; url: string } {
  const given = connection.url ?? io.env.FORGEJO_FLEET_URL ?? DEFAULT_URL;
  if (!DispatcherUrl.safeParse(given).success) {
    throw new UsageError(`--url (or FORGEJO_FLEET_URL): expected an http(s) URL, got "${given}"`);
  }
  const url = given.replace(/\/+$/, '');
  const token = readToken(connection.tokenFile ?? io.env.FORGEJO_FLEET_TOKEN_FILE, io);
  if (token === undefined) {
    throw new UsageError(
      'no client token: pass --token-file FILE, or set FORGEJO_FLEET_TOKEN_FILE (a file) or FORGEJO_FLEET_TOKEN (the token)',
    );
  }
  const api = createDispatchApiClient({
    url,
    token,
    timeoutMs: TIMEOUT_MS,
    concurrency: 1,
    // One attempt: an operator at a terminal sees the failure at once and runs the command again.
    retry: { attempts: 1 },
    ...(io.fetch ? { fetch: io.fetch } : {}),
    ...(io.clock ? { clock: io.clock } : {}),
  });
  return { api, url };
}

function readToken(file: string | undefined, io: CliIo): string | undefined {
  if (file !== undefined) {
    let text: string;
    try {
      text = io.readFile ? io.readFile(file) : readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(`--token-file ${file}: ${(error as Error).message}`);
    }
    const token = text.trim();
    if (token === '') throw new UsageError(`--token-file ${file}: the file is empty`);
    return token;
  }
  const env = io.env.FORGEJO_FLEET_TOKEN?.trim();
  return env === undefined || env === '' ? undefined : env;
}

/** Prints why a call got no result (a refusal with its field errors, or no answer) and returns 1. */
export function reportFailure(verb: string, failure: ApiFailure, url: string, io: CliIo): number {
  if (failure.kind === 'refused') {
    io.stderr(`forgejo-fleet ${verb}: the dispatcher answered ${failure.status}: ${failure.message}\n`);
    for (const field of fieldErrors(failure.details)) io.stderr(`  ${field.path}: ${field.message}\n`);
  } else {
    io.stderr(`forgejo-fleet ${verb}: no usable answer from the dispatcher at ${url}: ${failure.message}\n`);
  }
  return EXIT.failure;
}

const FieldErrors = z.array(FieldError);

function fieldErrors(details: unknown): FieldError[] {
  const parsed = FieldErrors.safeParse(details);
  return parsed.success ? parsed.data : [];
}

/** A positive whole number written as a flag value. */
export function countFlag(max: number) {
  return z
    .string()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(max));
}
