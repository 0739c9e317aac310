import type { Database, Statement } from 'better-sqlite3';
import { toDecision } from './decision-row.js';
import type { Decision, DecisionQuery } from './types.js';

export const MAX_DECISION_LIMIT = 1000;

/**
 * `listDecisions`, oldest first after a sequence number, or newest first before one. The scope filter is part of the query
 * (not applied to a page afterwards), so a client limited to some scopes gets full pages and
 * `after` keeps working. A decision without a scope (a warm pool refill, a global refusal) is
 * fleet-wide and matches no scope list. One prepared statement per filter combination.
 */
export function createDecisionLister(db: Database): (query: DecisionQuery) => Decision[] {
  const cache = new Map<string, Statement>();

  function statementFor(query: DecisionQuery): Statement {
    const newest = query.before !== undefined;
    const conditions = [newest ? 'seq < @before' : 'seq > @after'];
    if (query.dispatch_id !== undefined) conditions.push('dispatch_id = @dispatch_id');
    // json_each binds the whole list as one parameter: no SQL is built from scope names.
    if (query.scopes !== undefined) conditions.push('scope IN (SELECT value FROM json_each(@scopes))');
    const where = conditions.join(' AND ');
    const order = newest ? 'seq DESC' : 'seq';
    const key = `${where} ORDER BY ${order}`;
    let statement = cache.get(key);
    if (statement === undefined) {
      statement = db.prepare(`SELECT * FROM decisions WHERE ${key} LIMIT @limit`);
      cache.set(key, statement);
    }
    return statement;
  }

  return function listDecisions(query: DecisionQuery): Decision[] {
    const window = decisionWindow(query);
    const params: Record<string, string | number> = {
      ...(window.newest ? { before: window.bound } : { after: window.bound }),
      limit: window.limit,
    };
    if (query.dispatch_id !== undefined) params.dispatch_id = query.dispatch_id;
    if (query.scopes !== undefined) params.scopes = JSON.stringify(query.scopes);
    return statementFor(query).all(params).map(toDecision);
  };
}

/**
 * Which way a decision query reads and from where, for every backend: newest first below
 * `bound` (`before`, Infinity as the largest sequence number), or oldest first above it.
 */
export function decisionWindow(query: DecisionQuery): { newest: boolean; bound: number; limit: number } {
  const limit = Math.min(Math.max(Math.trunc(query.limit), 1), MAX_DECISION_LIMIT);
  if (query.before === undefined) return { newest: false, bound: query.after ?? 0, limit };
  return {
    newest: true,
    bound: Number.isFinite(query.before) ? query.before : Number.MAX_SAFE_INTEGER,
    limit,
  };
}
