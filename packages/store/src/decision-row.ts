import { CorruptRecordError } from './errors.js';
import { DECISION_KINDS, type Decision, type DecisionKind, type NewDecision } from './types.js';

/** Named parameters for the insert; absent fields are stored as NULL. */
export function decisionRow(decision: NewDecision): Record<string, string | number | null> {
  return {
    at: decision.at,
    kind: decision.kind,
    reason: decision.reason,
    dispatch_id: decision.dispatch_id ?? null,
    route: decision.route ?? null,
    scope: decision.scope ?? null,
    provider: decision.provider ?? null,
    choice: decision.choice ?? null,
    attempt: decision.attempt ?? null,
    error_class: decision.error_class ?? null,
    cost: decision.cost ?? null,
  };
}

const TEXT_FIELDS = ['dispatch_id', 'route', 'scope', 'provider', 'choice', 'error_class'] as const;

export function toDecision(row: unknown): Decision {
  if (typeof row !== 'object' || row === null) throw new CorruptRecordError('(decision)', 'row', 'not a row');
  const fields = row as Record<string, unknown>;
  const id = `decision ${String(fields.seq)}`;
  const seq = fields.seq;
  const at = fields.at;
  const kind = fields.kind;
  const reason = fields.reason;
  if (!Number.isSafeInteger(seq)) throw new CorruptRecordError(id, 'seq', 'not an integer');
  if (!Number.isSafeInteger(at)) throw new CorruptRecordError(id, 'at', 'not an integer');
  if (typeof kind !== 'string' || !(DECISION_KINDS as readonly string[]).includes(kind)) {
    throw new CorruptRecordError(id, 'kind', `unknown kind ${JSON.stringify(kind)}`);
  }
  if (typeof reason !== 'string') throw new CorruptRecordError(id, 'reason', 'not a string');
  const text: Record<string, string | null> = {};
  for (const field of TEXT_FIELDS) {
    const value = fields[field];
    if (value !== null && typeof value !== 'string') throw new CorruptRecordError(id, field, 'not a string');
    text[field] = value;
  }
  const attempt = fields.attempt;
  if (attempt !== null && !Number.isSafeInteger(attempt)) {
    throw new CorruptRecordError(id, 'attempt', 'not an integer');
  }
  const cost = fields.cost;
  if (cost !== null && typeof cost !== 'number') throw new CorruptRecordError(id, 'cost', 'not a number');
  return {
    seq: seq as number,
    at: at as number,
    kind: kind as DecisionKind,
    reason,
    dispatch_id: text.dispatch_id ?? null,
    route: text.route ?? null,
    scope: text.scope ?? null,
    provider: text.provider ?? null,
    choice: text.choice ?? null,
    attempt: attempt as number | null,
    error_class: text.error_class ?? null,
    cost: cost as number | null,
  };
}
