import { DispatchRequest } from '@forgejo-fleet/dispatch-api';
import { z } from 'zod';
import { API_FLAGS_HELP, type ApiIo, connect, parseApiArgs, reportFailure } from '../api-flags.js';
import { EXIT } from '../io.js';

export const dispatchHelp = `Usage: forgejo-fleet dispatch --scope SCOPE --labels LABEL[,LABEL…] [--json]

Asks for one VM by hand, by scope and labels (no Forgejo job).
The dispatcher picks the route that takes the labels, registers an ephemeral runner in the scope
and creates the VM. Refusals (no route, a full limit, a spent budget, a scope the client may not
use) are printed and exit 1.
  --scope SCOPE      where the runner registers: instance, org:NAME, user:NAME or repo:OWNER/NAME
  --labels a,b       the job labels to route by, comma-separated
  --json             print the new dispatch as the API answers
${API_FLAGS_HELP}`;

// The API's own field rules, so a bad label is refused here with the flag's name.
const Flags = z.object({
  scope: z.string({ error: 'required' }).pipe(DispatchRequest.shape.scope),
  labels: z
    .string({ error: 'required' })
    .transform((text) =>
      text
        .split(',')
        .map((label) => label.trim())
        .filter((label) => label !== ''),
    )
    .pipe(DispatchRequest.shape.labels),
  json: z.boolean().optional(),
});

export async function dispatch(argv: readonly string[], io: ApiIo): Promise<number> {
  const { flags, connection } = parseApiArgs(
    argv,
    { scope: 'string', labels: 'string', json: 'boolean' },
    Flags,
  );
  const { api, url } = connect(connection, io);
  const ack = await api.dispatch({ scope: flags.scope, labels: flags.labels });
  if (!ack.ok) return reportFailure('dispatch', ack, url, io);
  if (!flags.json) {
    io.stdout(`${ack.value.id} accepted on route ${ack.value.route ?? '?'} for ${flags.scope}\n`);
    return EXIT.ok;
  }
  const full = await api.getDispatch(ack.value.id);
  if (!full.ok) return reportFailure('dispatch', full, url, io);
  io.stdout(`${JSON.stringify(full.value, null, 2)}\n`);
  return EXIT.ok;
}
