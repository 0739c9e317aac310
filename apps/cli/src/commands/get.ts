import type { Dispatch } from '@forgejo-fleet/dispatch-api';
import { z } from 'zod';
import { API_FLAGS_HELP, type ApiIo, connect, parseApiArgs, reportFailure } from '../api-flags.js';
import { EXIT } from '../io.js';
import { cell, shortTime } from '../table.js';

export const getHelp = `Usage: forgejo-fleet get <dispatch-id> [--json]

Shows one dispatch with its state transitions.
State, route, scope, job, runner, provider, VM, error and every transition with its reason.
  --json             print the dispatch as the API answers
${API_FLAGS_HELP}`;

const Flags = z.object({ json: z.boolean().optional() });

export async function get(argv: readonly string[], io: ApiIo): Promise<number> {
  const { flags, positionals, connection } = parseApiArgs(argv, { json: 'boolean' }, Flags, ['id']);
  const { api, url } = connect(connection, io);
  const result = await api.getDispatch(positionals[0] ?? '');
  if (!result.ok) return reportFailure('get', result, url, io);
  io.stdout(flags.json ? `${JSON.stringify(result.value, null, 2)}\n` : describeDispatch(result.value));
  return EXIT.ok;
}

/** The dispatch as `key: value` lines and its timeline, for get, cancel and dispatch. */
export function describeDispatch(d: Dispatch): string {
  const fields: [string, string][] = [
    ['id', d.id],
    ['state', d.state],
    ['route', d.route],
    ['scope', d.scope],
    ['labels', d.labels.join(', ')],
    ['client', d.client],
    ['job', d.job ? `${d.job.name} (handle ${d.job.handle}, attempt ${d.job.attempt})` : 'none (manual)'],
    ['runner', d.runner ? `${d.runner.name} (#${d.runner.id})` : '-'],
    ['provider', cell(d.provider)],
    ['instance', cell(d.instance_id)],
    ['machine', cell(d.machine)],
    ['retries', String(d.retries)],
    ['created', shortTime(d.created_at)],
    ['updated', shortTime(d.updated_at)],
  ];
  if (d.error !== null) fields.push(['error', d.error]);
  const width = Math.max(...fields.map(([key]) => key.length)) + 1;
  const lines = fields.map(([key, value]) => `${`${key}:`.padEnd(width)} ${value}`);
  lines.push('transitions:');
  for (const t of d.transitions) {
    lines.push(`  ${shortTime(t.at)}  ${t.state}${t.reason ? `  ${t.reason}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
