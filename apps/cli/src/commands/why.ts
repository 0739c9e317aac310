import { z } from 'zod';
import { API_FLAGS_HELP, type ApiIo, connect, parseApiArgs, reportFailure } from '../api-flags.js';
import { EXIT } from '../io.js';

export const whyHelp = `Usage: forgejo-fleet why <handle-or-dispatch-id> [--url URL] [--token-file FILE]

Asks the dispatcher why a job waits or what became of its VM: the route matched, the scope
credentials used (by name), limits and budgets, every provider attempt with its error class,
the timers, the current state and what happens next.
${API_FLAGS_HELP}`;

export type { Fetch } from '@forgejo-fleet/dispatch-api';

export async function why(argv: readonly string[], io: ApiIo): Promise<number> {
  const { positionals, connection } = parseApiArgs(argv, {}, z.object({}), ['handle-or-dispatch-id']);
  const { api, url } = connect(connection, io);
  const result = await api.why(positionals[0] ?? '');
  if (!result.ok) return reportFailure('why', result, url, io);
  io.stdout(result.value.endsWith('\n') ? result.value : `${result.value}\n`);
  return EXIT.ok;
}
