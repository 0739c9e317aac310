import { CorruptRecordError } from './errors.js';
import { isDispatchState } from './state-machine.js';
import type { DispatchJob, DispatchRecord, DispatchRunner, Transition } from './types.js';

/**
 * Every read selects the same columns, with the history folded into one JSON array so a record is
 * one row (a page of 500 is one query, not 501).
 */
export const SELECT_RECORD = `
  SELECT d.id, d.handle, d.scope, d.labels, d.route, d.client, d.job, d.state, d.runner,
         d.provider, d.instance_id, d.error, d.machine, d.hourly_price, d.retries,
         d.created_at, d.updated_at,
         (SELECT json_group_array(json_object('state', t.state, 'at', t.at, 'reason', t.reason)
                                  ORDER BY t.seq)
            FROM transitions t WHERE t.dispatch_id = d.id) AS transitions
    FROM dispatches d`;

/** Only the declared fields are stored, so a caller's extra properties never shape the row. */
export function jobToJson(job: DispatchJob | null): string | null {
  if (job === null) return null;
  const { handle, id, attempt, repo_id, owner_id, name } = job;
  return JSON.stringify({ handle, id, attempt, repo_id, owner_id, name });
}

export function runnerToJson(runner: DispatchRunner | null): string | null {
  if (runner === null) return null;
  const { id, uuid, name } = runner;
  return JSON.stringify({ id, uuid, name });
}

type Fields = Record<string, unknown>;

/**
 * Maps a row to a record, checking every column: a row edited by hand or written by a broken
 * build fails here with the dispatch id and column, not later as `undefined` deep in the dispatcher.
 */
export function toRecord(row: unknown): DispatchRecord {
  if (!isObject(row)) throw new CorruptRecordError('(unknown)', 'row', 'not a row');
  const id = row.id;
  if (typeof id !== 'string') throw new CorruptRecordError(String(id), 'id', 'not a string');
  const column = new Columns(id, row);
  const state = column.string('state');
  if (!isDispatchState(state))
    throw new CorruptRecordError(id, 'state', `unknown state ${JSON.stringify(state)}`);
  return {
    id,
    handle: column.nullableString('handle'),
    scope: column.string('scope'),
    labels: column.labels(),
    route: column.string('route'),
    client: column.string('client'),
    job: column.job(),
    state,
    runner: column.runner(),
    provider: column.nullableString('provider'),
    instance_id: column.nullableString('instance_id'),
    error: column.nullableString('error'),
    machine: column.nullableString('machine'),
    hourly_price: column.nullableNumber('hourly_price'),
    retries: column.integer('retries'),
    created_at: column.integer('created_at'),
    updated_at: column.integer('updated_at'),
    transitions: column.transitions(),
  };
}

class Columns {
  constructor(
    private readonly id: string,
    private readonly row: Fields,
  ) {}

  string(field: string): string {
    const value = this.row[field];
    if (typeof value !== 'string') throw this.corrupt(field, 'not a string');
    return value;
  }

  nullableString(field: string): string | null {
    return this.row[field] === null ? null : this.string(field);
  }

  nullableNumber(field: string): number | null {
    const value = this.row[field];
    if (value === null) return null;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw this.corrupt(field, 'not a number');
    return value;
  }

  integer(field: string): number {
    const value = this.row[field];
    if (!Number.isSafeInteger(value)) throw this.corrupt(field, 'not an integer');
    return value as number;
  }

  labels(): string[] {
    const labels = this.json('labels');
    if (!Array.isArray(labels) || !labels.every((label) => typeof label === 'string')) {
      throw this.corrupt('labels', 'not an array of strings');
    }
    return labels;
  }

  job(): DispatchJob | null {
    if (this.row.job === null) return null;
    const job = this.json('job');
    if (!isObject(job)) throw this.corrupt('job', 'not an object');
    return {
      handle: this.member('job', job, 'handle', 'string'),
      id: this.member('job', job, 'id', 'integer'),
      attempt: this.member('job', job, 'attempt', 'integer'),
      repo_id: this.member('job', job, 'repo_id', 'integer'),
      owner_id: this.member('job', job, 'owner_id', 'integer'),
      name: this.member('job', job, 'name', 'string'),
    };
  }

  runner(): DispatchRunner | null {
    if (this.row.runner === null) return null;
    const runner = this.json('runner');
    if (!isObject(runner)) throw this.corrupt('runner', 'not an object');
    return {
      id: this.member('runner', runner, 'id', 'integer'),
      uuid: this.member('runner', runner, 'uuid', 'string'),
      name: this.member('runner', runner, 'name', 'string'),
    };
  }

  transitions(): Transition[] {
    const list = this.json('transitions');
    if (!Array.isArray(list)) throw this.corrupt('transitions', 'not an array');
    return list.map((item: unknown, index) => {
      const field = `transitions.${index}`;
      if (!isObject(item)) throw this.corrupt(field, 'not an object');
      const state = item.state;
      if (!isDispatchState(state))
        throw this.corrupt(`${field}.state`, `unknown state ${JSON.stringify(state)}`);
      const at = this.member(field, item, 'at', 'integer');
      if (item.reason === null || item.reason === undefined) return { state, at };
      return { state, at, reason: this.member(field, item, 'reason', 'string') };
    });
  }

  private json(field: string): unknown {
    const text = this.string(field);
    try {
      return JSON.parse(text);
    } catch {
      throw this.corrupt(field, 'not valid JSON');
    }
  }

  private member(field: string, object: Fields, key: string, kind: 'string'): string;
  private member(field: string, object: Fields, key: string, kind: 'integer'): number;
  private member(field: string, object: Fields, key: string, kind: 'string' | 'integer'): string | number {
    const value = object[key];
    if (kind === 'string' && typeof value === 'string') return value;
    if (kind === 'integer' && typeof value === 'number' && Number.isSafeInteger(value)) return value;
    throw this.corrupt(`${field}.${key}`, `not ${kind === 'string' ? 'a string' : 'an integer'}`);
  }

  private corrupt(field: string, problem: string): CorruptRecordError {
    return new CorruptRecordError(this.id, field, problem);
  }
}

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
