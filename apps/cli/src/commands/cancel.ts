import { z } from 'zod';
import { API_FLAGS_HELP, type ApiIo, connect, parseApiArgs, reportFailure } from '../api-flags.js';
import { EXIT } from '../io.js';

export const cancelHelp = `Usage: forgejo-fleet cancel <dispatch-id> [--json]

Cancels a dispatch: its VM and its runner registration are deleted.
Cancelling twice is fine; a dispatch that already finished or failed is refused (409, exit 1).
  --json             print the cancelled dispatch as the API answers
${API_FLAGS_HELP}`;

const Flags = z.object({ json: z.boolean().optional() });

export async function cancel(argv: readonly string[], io: ApiIo): Promise<number> {
  const { flags, positionals, connection } = parseApiArgs(argv, { json: 'boolean' }, Flags, ['id']);
  const { api, url } = connect(connection, io);
  const result = await api.cancelDispatch(positionals[0] ?? '');
  if (!result.ok) return reportFailure('cancel', result, url, io);
  const d = result.value;
  io.stdout(
    flags.json ? `${JSON.stringify(d, null, 2)}\n` : `${d.id} ${d.state} (route ${d.route}, ${d.scope})\n`,
  );
  return EXIT.ok;
}
