import type { DecisionView } from '@forgejo-fleet/dispatch-api';
import { systemClock } from '@forgejo-fleet/runtime';
import { Duration } from '@forgejo-fleet/runtime/config';
import { z } from 'zod';
import { API_FLAGS_HELP, type ApiIo, connect, parseApiArgs, reportFailure } from '../api-flags.js';
import { afterForTime } from '../decision-search.js';
import { interruptSignal } from '../interrupt.js';
import { EXIT } from '../io.js';
import { shortTime } from '../table.js';

export const decisionsHelp = `Usage: forgejo-fleet decisions [--dispatch ID] [--since D | --after SEQ] [--follow] [--interval D] [--json]

Prints the decision log; --follow keeps printing new decisions.
The client's scopes' decisions, oldest first: every create, fallback, delete, refusal, adoption,
timeout and cancel, with its reason.
  --dispatch ID      only the decisions about this dispatch (default start: its first decision)
  --since D          start with the decisions of the last D, e.g. 15m or 2h (default 1h)
  --after SEQ        start after this sequence number instead (the first column of each line)
  --follow           keep polling for new decisions until Ctrl-C
  --interval D       time between polls with --follow, 100ms to 1h (default 2s)
  --json             one JSON object per line, as the API answers
${API_FLAGS_HELP}`;

const PAGE = 1000;
/**
 * With --follow, every poll reads this many sequence numbers back again: on PostgreSQL with
 * several replicas a decision can commit a moment after one with a higher number, and a cursor
 * that only moves forward would never show it. Decisions never change, so a re-read one is
 * recognised by its number and not printed twice.
 */
const LATE_WINDOW = 64;

const Flags = z
  .object({
    dispatch: z.string().min(1).max(64).optional(),
    since: Duration({ min: 1_000, max: 30 * 86_400_000 }).optional(),
    after: z
      .string()
      .regex(/^\d+$/, 'expected a sequence number (a whole number)')
      .transform(Number)
      .optional(),
    follow: z.boolean().optional(),
    interval: Duration({ min: 100, max: 3_600_000 }).default(2_000),
    json: z.boolean().optional(),
  })
  .refine((flags) => flags.since === undefined || flags.after === undefined, {
    path: ['after'],
    message: 'cannot be combined with --since',
  });

const KINDS = {
  dispatch: 'string',
  since: 'string',
  after: 'string',
  follow: 'boolean',
  interval: 'string',
  json: 'boolean',
} as const;

export async function decisions(argv: readonly string[], io: ApiIo): Promise<number> {
  const { flags, connection } = parseApiArgs(argv, KINDS, Flags);
  const { api, url } = connect(connection, io);
  const clock = io.clock ?? systemClock;
  const interrupt = io.signal === undefined && flags.follow ? interruptSignal() : undefined;
  const signal = io.signal ?? interrupt?.signal;
  const call = signal ? { signal } : {};
  try {
    let after = flags.after ?? 0;
    if (flags.after === undefined && (flags.dispatch === undefined || flags.since !== undefined)) {
      const found = await afterForTime(api, clock.now() - (flags.since ?? 3_600_000), signal);
      if (!found.ok) return found.kind === 'aborted' ? EXIT.ok : reportFailure('decisions', found, url, io);
      after = found.after;
    }
    const start = after;
    const shown = new Set<number>();
    let highest = after;
    for (;;) {
      const page = await api.decisions(
        { after, limit: PAGE, ...(flags.dispatch ? { dispatch_id: flags.dispatch } : {}) },
        call,
      );
      if (!page.ok) return page.kind === 'aborted' ? EXIT.ok : reportFailure('decisions', page, url, io);
      for (const decision of page.value.items) {
        if (!shown.has(decision.seq)) {
          io.stdout(flags.json ? `${JSON.stringify(decision)}\n` : `${decisionLine(decision)}\n`);
          shown.add(decision.seq);
        }
        after = decision.seq;
        highest = Math.max(highest, decision.seq);
      }
      // Only numbers inside the window can come back; the set stays that small over any backlog.
      for (const seq of shown) if (seq <= highest - LATE_WINDOW) shown.delete(seq);
      if (page.value.items.length === PAGE) continue;
      if (!flags.follow) return EXIT.ok;
      try {
        await clock.sleep(flags.interval, signal);
      } catch (error) {
        if (signal?.aborted) return EXIT.ok;
        throw error;
      }
      after = Math.max(start, highest - LATE_WINDOW);
    }
  } finally {
    interrupt?.dispose();
  }
}

/** `seq time kind key=value… reason`: one grep-able line per decision. */
export function decisionLine(d: DecisionView): string {
  const about = [
    ['dispatch', d.dispatch_id],
    ['route', d.route],
    ['scope', d.scope],
    ['provider', d.provider],
    ['choice', d.choice],
    ['attempt', d.attempt],
    ['class', d.error_class],
  ]
    .filter(([, value]) => value !== null)
    .map(([key, value]) => `${key}=${value}`);
  return [String(d.seq), shortTime(d.at), d.kind, ...about, '·', d.reason].join(' ');
}
