import { ListDecisionsQuery, ListDispatchesQuery } from '@forgejo-fleet/dispatch-api';
import { z } from 'zod';
import { fieldErrors } from '../schemas.js';

/** A query string the page cannot read: its fields' problems, shown on a 400 page. */
export class BadQuery extends Error {
  override readonly name = 'BadQuery';
  constructor(readonly fields: readonly { path: string; message: string }[]) {
    super(`invalid query: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`);
  }
}

/** An empty filter field of a submitted form means "any", not "the empty string". */
function withoutEmpty(query: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(query).filter(([, value]) => value !== ''));
}

function parse<S extends z.ZodType>(schema: S, query: Record<string, string>): z.output<S> {
  const parsed = schema.safeParse(withoutEmpty(query));
  if (!parsed.success) throw new BadQuery(fieldErrors(parsed.error.issues));
  return parsed.data;
}

/** The dispatch list's filters and page: the API's own query schema. */
export function dispatchesQuery(query: Record<string, string>) {
  return parse(ListDispatchesQuery, query);
}

/**
 * The decision stream's page: the API's schema, at most a page of 200 rows here, plus `before`
 * (newest first from just before that sequence number); without `after` the page is the latest.
 */
const UiDecisionsQuery = ListDecisionsQuery.extend({
  before: z.coerce.number().int().min(1).optional(),
});

export function decisionsQuery(query: Record<string, string>) {
  const parsed = parse(UiDecisionsQuery, query);
  const afterGiven = query.after !== undefined && query.after !== '';
  if (parsed.before !== undefined && afterGiven) {
    throw new BadQuery([{ path: 'before', message: 'give either after or before, not both' }]);
  }
  if (parsed.limit > 200) throw new BadQuery([{ path: 'limit', message: 'at most 200 rows per page' }]);
  return { ...parsed, newestFirst: !afterGiven };
}
