import { parseGoDuration } from './duration.js';
import { parseRunnerLabel } from './labels.js';

/** The `forgejo-runner one-job` flags the fake understands. */
export interface OneJobArgs {
  url: string;
  uuid: string;
  tokenUrl: string;
  /** Raw `--label` values (`name[:scheme[:arg]]`). */
  labels: string[];
  /** Label names, what `Declare` sends. */
  labelNames: string[];
  handle: string | null;
  wait: boolean;
  fetchIntervalMs: number;
  /** `-c/--config`: accepted and ignored. */
  config: string | null;
}

/** A usage or validation error: the runner exits 1. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const VALUE_FLAGS = new Map([
  ['-c', 'config'],
  ['--config', 'config'],
  ['--url', 'url'],
  ['--uuid', 'uuid'],
  ['--token-url', 'token-url'],
  ['--label', 'label'],
  ['--handle', 'handle'],
  ['--fetch-interval', 'fetch-interval'],
]);
const BOOL_FLAGS = new Map([
  ['-w', 'wait'],
  ['--wait', 'wait'],
]);

export const DEFAULT_FETCH_INTERVAL_MS = 2000;

/** `google/uuid.Parse`: canonical, `{...}`, `urn:uuid:...` or 32 hex digits. */
export function isUuid(s: string): boolean {
  const hex = '[0-9a-fA-F]';
  const canonical = `${hex}{8}-${hex}{4}-${hex}{4}-${hex}{4}-${hex}{12}`;
  return new RegExp(`^(?:${canonical}|\\{${canonical}\\}|urn:uuid:${canonical}|${hex}{32})$`).test(s);
}

/** `url.ParseRequestURI` + http/https only. */
function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`invalid --url ${JSON.stringify(url)}: not an absolute URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`invalid --url ${JSON.stringify(url)}: scheme must be http or https`);
  }
}

/**
 * Parses `[-c FILE] one-job [flags]` with pflag conventions (`--flag value`, `--flag=value`). Enforces
 * `connectionFromArguments`: if url, uuid, token-url, fetch-interval or more than one label is given, url,
 * uuid and token-url are all required; a single `--label` alone does not define a connection (and is
 * silently ignored, so one-job then fails for lack of a connection).
 */
export function parseOneJobArgs(argv: readonly string[]): OneJobArgs {
  const values = new Map<string, string[]>();
  let wait = false;
  let command: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const valueFlag = VALUE_FLAGS.get(flag);
    const boolFlag = BOOL_FLAGS.get(flag);
    if (valueFlag) {
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined) throw new UsageError(`flag needs an argument: ${flag}`);
      values.set(valueFlag, [...(values.get(valueFlag) ?? []), value]);
    } else if (boolFlag) {
      const value = eq === -1 ? 'true' : arg.slice(eq + 1);
      if (!['true', 'false', '1', '0'].includes(value)) throw new UsageError(`invalid argument for ${flag}`);
      wait = value === 'true' || value === '1';
    } else if (arg.startsWith('-')) {
      throw new UsageError(`unknown flag: ${flag}`);
    } else if (command === null) {
      command = arg;
    } else {
      throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    }
  }
  if (command !== 'one-job')
    throw new UsageError(`unknown command ${JSON.stringify(command ?? '')}: only one-job is faked`);

  const last = (name: string) => values.get(name)?.at(-1) ?? '';
  const url = last('url');
  const uuid = last('uuid');
  const tokenUrl = last('token-url');
  const interval = values.has('fetch-interval') ? last('fetch-interval') : null;
  const labels = values.get('label') ?? [];
  const connectionDefined =
    url !== '' || uuid !== '' || tokenUrl !== '' || interval !== null || labels.length > 1;
  if (!connectionDefined) throw new UsageError('one-job is only supported with a single connection');
  if (url === '' || uuid === '' || tokenUrl === '') {
    throw new UsageError('--url, --uuid and --token-url are all required to define a connection');
  }
  checkUrl(url);
  if (!isUuid(uuid)) throw new UsageError(`invalid --uuid ${JSON.stringify(uuid)}`);
  let fetchIntervalMs = DEFAULT_FETCH_INTERVAL_MS;
  if (interval !== null) {
    const ms = parseGoDuration(interval);
    if (ms === null || ms <= 0) throw new UsageError(`invalid --fetch-interval ${JSON.stringify(interval)}`);
    fetchIntervalMs = ms;
  }
  // Forced minimum for codeberg.org.
  if (new URL(url).hostname === 'codeberg.org') fetchIntervalMs = Math.max(fetchIntervalMs, 30_000);
  const labelNames: string[] = [];
  for (const label of labels) {
    try {
      labelNames.push(parseRunnerLabel(label).name);
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message : String(err));
    }
  }
  const handle = values.has('handle') ? last('handle') : null;
  return {
    url,
    uuid,
    tokenUrl,
    labels,
    labelNames,
    handle: handle === '' ? null : handle,
    wait,
    fetchIntervalMs,
    config: values.has('config') ? last('config') : null,
  };
}
