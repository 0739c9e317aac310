import type { RouteView } from '@forgejo-fleet/dispatch-api';
import { z } from 'zod';
import { API_FLAGS_HELP, type ApiIo, connect, parseApiArgs, reportFailure } from '../api-flags.js';
import { EXIT } from '../io.js';
import { cell, formatTable } from '../table.js';

export const routesHelp = `Usage: forgejo-fleet routes [--json]

Lists the routes: labels, providers, live VMs against limits, warm pools.
Live VMs count the client's scopes; a warm pool's idle and booting VMs show for a client of every
scope only ("-" otherwise).
  --json             print {"routes": [...]} as the API answers
${API_FLAGS_HELP}`;

const Flags = z.object({ json: z.boolean().optional() });

export async function routes(argv: readonly string[], io: ApiIo): Promise<number> {
  const { flags, connection } = parseApiArgs(argv, { json: 'boolean' }, Flags);
  const { api, url } = connect(connection, io);
  const result = await api.routes();
  if (!result.ok) return reportFailure('routes', result, url, io);
  io.stdout(flags.json ? `${JSON.stringify(result.value, null, 2)}\n` : routeTable(result.value.routes));
  return EXIT.ok;
}

export function routeTable(list: readonly RouteView[]): string {
  if (list.length === 0) return 'no routes\n';
  return formatTable(
    ['ROUTE', 'LABELS', 'PROVIDERS', 'LIVE/MAX', 'PER SCOPE', 'WARM TARGET/IDLE/BOOTING'],
    list.map((r) => [
      r.name,
      r.labels.join(','),
      r.providers.join(' → '),
      `${r.live_vms}/${r.limits.max_vms}`,
      cell(r.limits.max_vms_per_scope),
      r.warm ? `${r.warm.target}/${cell(r.warm.idle)}/${cell(r.warm.booting)}` : '-',
    ]),
  );
}
