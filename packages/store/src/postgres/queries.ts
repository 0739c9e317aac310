import { decisionWindow } from '../decision-query.js';
import { checkListQuery } from '../list-query.js';
import type { DecisionQuery, ListQuery } from '../types.js';
import { SELECT_RECORD } from './sql.js';

/** One SQL text and its parameters. */
export interface Query {
  readonly text: string;
  readonly values: unknown[];
}

/** Numbers parameters in the order conditions are added. */
class Parameters {
  readonly values: unknown[] = [];

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/**
 * `list` as SQL: the shared checks and paging (list-query.ts), newest first on the keyset
 * (created_at, id). Only the filters asked for are in the WHERE, so each combination uses its
 * index (the planner caches nothing across texts, but these are few and short).
 */
export function listQuery(query: ListQuery): Query & { limit: number } {
  const { after, fetch } = checkListQuery(query);
  const p = new Parameters();
  const conditions: string[] = [];
  if (query.state !== undefined) conditions.push(`d.state = ${p.add(query.state)}`);
  if (query.scope !== undefined) conditions.push(`d.scope = ${p.add(query.scope)}`);
  if (query.route !== undefined) conditions.push(`d.route = ${p.add(query.route)}`);
  // The caller's visible scopes, bound as one array: pages and cursors see only those rows.
  if (query.scopes !== undefined) conditions.push(`d.scope = ANY(${p.add([...query.scopes])}::text[])`);
  if (after !== undefined) {
    conditions.push(`(d.created_at, d.id) < (${p.add(after.created_at)}::bigint, ${p.add(after.id)})`);
  }
  const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
  return {
    text: `${SELECT_RECORD} ${where} ORDER BY d.created_at DESC, d.id DESC LIMIT ${p.add(fetch)}`,
    values: p.values,
    limit: query.limit,
  };
}

/** `listDecisions` as SQL, with the shared window (decision-query.ts) and the scope filter inside. */
export function decisionQuery(query: DecisionQuery): Query {
  const window = decisionWindow(query);
  const p = new Parameters();
  const conditions = [window.newest ? `seq < ${p.add(window.bound)}` : `seq > ${p.add(window.bound)}`];
  if (query.dispatch_id !== undefined) conditions.push(`dispatch_id = ${p.add(query.dispatch_id)}`);
  // A decision without a scope is fleet-wide and matches no scope list (NULL = ANY is not true).
  if (query.scopes !== undefined) conditions.push(`scope = ANY(${p.add([...query.scopes])}::text[])`);
  return {
    text: `SELECT * FROM decisions WHERE ${conditions.join(' AND ')} ORDER BY seq${window.newest ? ' DESC' : ''} LIMIT ${p.add(window.limit)}`,
    values: p.values,
  };
}
