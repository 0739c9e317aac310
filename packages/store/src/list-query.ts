import type { Database, Statement } from 'better-sqlite3';
import { type CursorPosition, decodeCursor, encodeCursor } from './cursor.js';
import { InvalidArgumentError } from './errors.js';
import { SELECT_RECORD, toRecord } from './row.js';
import { isDispatchState } from './state-machine.js';
import type { DispatchRecord, ListPage, ListQuery } from './types.js';

export const MAX_LIST_LIMIT = 500;

/**
 * `list` with keyset pagination on (created_at, id), newest first; id breaks ties between
 * dispatches created in the same millisecond so no item is skipped or repeated across pages.
 *
 * One statement per combination of filters (at most 32), built and prepared on first use: a single
 * `(@state IS NULL OR state = @state)` statement would keep SQLite from using the filter's index.
 */
export function createLister(db: Database): (query: ListQuery) => ListPage {
  const cache = new Map<string, Statement>();

  function statementFor(query: ListQuery): Statement {
    const conditions: string[] = [];
    if (query.state !== undefined) conditions.push('d.state = @state');
    if (query.scope !== undefined) conditions.push('d.scope = @scope');
    if (query.route !== undefined) conditions.push('d.route = @route');
    // The caller's visible scopes, bound as one JSON list: pages and cursors see only those rows.
    if (query.scopes !== undefined) conditions.push('d.scope IN (SELECT value FROM json_each(@scopes))');
    if (query.cursor !== undefined) conditions.push('(d.created_at, d.id) < (@after_created_at, @after_id)');
    const key = conditions.join(' AND ');
    let statement = cache.get(key);
    if (statement === undefined) {
      const where = conditions.length === 0 ? '' : `WHERE ${key}`;
      statement = db.prepare(`${SELECT_RECORD} ${where} ORDER BY d.created_at DESC, d.id DESC LIMIT @limit`);
      cache.set(key, statement);
    }
    return statement;
  }

  return function list(query: ListQuery): ListPage {
    const { after, fetch } = checkListQuery(query);
    const params: Record<string, string | number> = { limit: fetch };
    if (query.state !== undefined) params.state = query.state;
    if (query.scope !== undefined) params.scope = query.scope;
    if (query.route !== undefined) params.route = query.route;
    if (query.scopes !== undefined) params.scopes = JSON.stringify(query.scopes);
    if (after !== undefined) {
      params.after_created_at = after.created_at;
      params.after_id = after.id;
    }
    return toPage(statementFor(query).all(params).map(toRecord), query.limit);
  };
}

/**
 * Checks a list query (every backend does, before SQL) and says where the page starts and how
 * many rows to ask for: one beyond the page says whether there is a next page without a count.
 */
export function checkListQuery(query: ListQuery): { after: CursorPosition | undefined; fetch: number } {
  const { limit } = query;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new InvalidArgumentError('limit', `must be an integer from 1 to ${MAX_LIST_LIMIT}, got ${limit}`);
  }
  if (query.state !== undefined && !isDispatchState(query.state)) {
    throw new InvalidArgumentError('state', `unknown state ${JSON.stringify(query.state)}`);
  }
  return { after: query.cursor === undefined ? undefined : decodeCursor(query.cursor), fetch: limit + 1 };
}

/** The page from the rows a backend read (up to `limit + 1`, newest first). */
export function toPage(records: DispatchRecord[], limit: number): ListPage {
  const more = records.length > limit;
  const items = more ? records.slice(0, limit) : records;
  const last = items.at(-1);
  return {
    items,
    next_cursor:
      more && last !== undefined ? encodeCursor({ created_at: last.created_at, id: last.id }) : null,
  };
}
