import { DISPATCH_STATES, type Dispatch } from '@forgejo-fleet/dispatch-api';
import { z } from 'zod';
import { API_FLAGS_HELP, type ApiIo, connect, countFlag, parseApiArgs, reportFailure } from '../api-flags.js';
import { EXIT } from '../io.js';
import { cell, formatTable, shortTime } from '../table.js';

export const listHelp = `Usage: forgejo-fleet list [--state S] [--route R] [--scope S] [--limit N] [--cursor C | --all] [--json]

Lists dispatches: filters, pages, a table or --json.
The client's scopes' dispatches only, newest first, one page at a time.
  --state STATE      only dispatches in this state (${DISPATCH_STATES.join(', ')})
  --route NAME       only dispatches on this route
  --scope SCOPE      only dispatches of this scope (e.g. org:acme)
  --limit N          dispatches per page, 1-500 (default 50)
  --cursor C         the page after the one that printed this cursor
  --all              follow every page to the end
  --json             print {"items": [...], "next_cursor": ...} as the API answers
${API_FLAGS_HELP}`;

const Flags = z
  .object({
    state: z.enum(DISPATCH_STATES).optional(),
    route: z.string().min(1).optional(),
    scope: z.string().min(1).optional(),
    limit: countFlag(500).optional(),
    cursor: z.string().min(1).max(200).optional(),
    all: z.boolean().optional(),
    json: z.boolean().optional(),
  })
  .refine((flags) => !(flags.all && flags.cursor), {
    path: ['cursor'],
    message: 'cannot be combined with --all',
  });

const KINDS = {
  state: 'string',
  route: 'string',
  scope: 'string',
  limit: 'string',
  cursor: 'string',
  all: 'boolean',
  json: 'boolean',
} as const;

export async function list(argv: readonly string[], io: ApiIo): Promise<number> {
  const { flags, connection } = parseApiArgs(argv, KINDS, Flags);
  const { api, url } = connect(connection, io);
  const items: Dispatch[] = [];
  let cursor = flags.cursor;
  for (;;) {
    const page = await api.listDispatches({
      ...(flags.state ? { state: flags.state } : {}),
      ...(flags.route ? { route: flags.route } : {}),
      ...(flags.scope ? { scope: flags.scope } : {}),
      ...(flags.limit ? { limit: flags.limit } : {}),
      ...(cursor ? { cursor } : {}),
    });
    if (!page.ok) return reportFailure('list', page, url, io);
    items.push(...page.value.items);
    cursor = page.value.next_cursor ?? undefined;
    if (!flags.all || cursor === undefined) break;
  }
  const next = cursor ?? null;
  if (flags.json) {
    io.stdout(`${JSON.stringify({ items, next_cursor: next }, null, 2)}\n`);
    return EXIT.ok;
  }
  io.stdout(dispatchTable(items));
  // The hint goes to stderr so the table on stdout stays one clean block for pipes.
  if (next !== null) io.stderr(`more: forgejo-fleet list --cursor ${next} (same filters)\n`);
  return EXIT.ok;
}

export function dispatchTable(items: readonly Dispatch[]): string {
  if (items.length === 0) return 'no dispatches\n';
  return formatTable(
    ['ID', 'STATE', 'ROUTE', 'SCOPE', 'PROVIDER', 'CREATED', 'JOB'],
    items.map((d) => [
      d.id,
      d.state,
      d.route,
      d.scope,
      cell(d.provider),
      shortTime(d.created_at),
      d.job ? `${d.job.name} (${d.handle})` : cell(d.handle ?? 'manual'),
    ]),
  );
}
