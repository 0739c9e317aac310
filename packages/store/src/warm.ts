import type { Database } from 'better-sqlite3';
import { checkWarmStates } from './arguments.js';
import { CorruptRecordError } from './errors.js';
import { WARM_STATES, type WarmPatch, type WarmState, type WarmVm } from './types.js';

export interface WarmPoolStatements {
  insert(vm: { id: string; route: string; provider: string; secret_hash: string; at: number }): WarmVm;
  get(id: string): WarmVm | undefined;
  /** Compare-and-set; `.immediate` runs it in an IMMEDIATE transaction. */
  update: {
    immediate(
      id: string,
      from: readonly WarmState[],
      to: WarmState,
      at: number,
      patch: WarmPatch,
    ): WarmVm | undefined;
  };
  claim(
    route: string,
    dispatchId: string,
    at: number,
    excludeProviders: readonly string[],
  ): WarmVm | undefined;
  list(): WarmVm[];
}

/** The warm pool's statements and compare-and-set writes, on the store's connection. */
export function warmPool(db: Database): WarmPoolStatements {
  const insert = db.prepare(`
    INSERT INTO warm_vms (id, route, provider, state, secret_hash, created_at, updated_at)
    VALUES (@id, @route, @provider, 'creating', @secret_hash, @at, @at)`);
  const get = db.prepare('SELECT * FROM warm_vms WHERE id = ?');
  const update = db.prepare(`
    UPDATE warm_vms
       SET state = @to,
           updated_at = max(updated_at, @at),
           instance_id = coalesce(@instance_id, instance_id),
           machine = CASE WHEN @set_machine THEN @machine ELSE machine END,
           hourly_price = CASE WHEN @set_price THEN @hourly_price ELSE hourly_price END,
           reason = coalesce(@reason, reason),
           secret_hash = CASE WHEN @burn OR @to = 'retired' THEN NULL ELSE secret_hash END,
           ready_at = CASE WHEN @to = 'idle' AND ready_at IS NULL THEN @at ELSE ready_at END
     WHERE id = @id AND state IN (SELECT value FROM json_each(@from))`);
  // One statement: the row is picked and taken under SQLite's write lock, so two dispatches
  // (or two processes) can never both claim it.
  const claim = db.prepare(`
    UPDATE warm_vms SET state = 'claimed', dispatch_id = @dispatch_id, claimed_at = @at,
                        updated_at = max(updated_at, @at)
     WHERE id = (SELECT id FROM warm_vms INDEXED BY warm_vms_idle
                  WHERE route = @route AND state = 'idle'
                    AND provider NOT IN (SELECT value FROM json_each(@exclude))
                  ORDER BY ready_at, id LIMIT 1)
       AND state = 'idle' AND dispatch_id IS NULL
    RETURNING *`);
  const listLive = db.prepare("SELECT * FROM warm_vms WHERE state != 'retired' ORDER BY created_at, id");

  return {
    insert(vm: { id: string; route: string; provider: string; secret_hash: string; at: number }): WarmVm {
      insert.run(vm);
      return toWarm(get.get(vm.id));
    },
    get(id: string): WarmVm | undefined {
      const row = get.get(id);
      return row === undefined ? undefined : toWarm(row);
    },
    update: db.transaction(
      (
        id: string,
        from: readonly WarmState[],
        to: WarmState,
        at: number,
        patch: WarmPatch,
      ): WarmVm | undefined => {
        checkWarmStates([...from, to]);
        const { changes } = update.run({
          id,
          from: JSON.stringify(from),
          to,
          at,
          instance_id: patch.instance_id ?? null,
          set_machine: patch.machine === undefined ? 0 : 1,
          machine: patch.machine ?? null,
          set_price: patch.hourly_price === undefined ? 0 : 1,
          hourly_price: patch.hourly_price ?? null,
          reason: patch.reason ?? null,
          burn: patch.burn_secret === true ? 1 : 0,
        });
        return changes === 0 ? undefined : toWarm(get.get(id));
      },
    ),
    claim(
      route: string,
      dispatchId: string,
      at: number,
      excludeProviders: readonly string[],
    ): WarmVm | undefined {
      const row = claim.get({
        route,
        dispatch_id: dispatchId,
        at,
        exclude: JSON.stringify(excludeProviders),
      });
      return row === undefined ? undefined : toWarm(row);
    },
    list(): WarmVm[] {
      return listLive.all().map(toWarm);
    },
  };
}

/** Maps a warm_vms row (any backend) to a WarmVm, checking each column. */
export function toWarm(row: unknown): WarmVm {
  if (typeof row !== 'object' || row === null) throw new CorruptRecordError('(warm)', 'row', 'not a row');
  const r = row as Record<string, unknown>;
  const id = String(r.id);
  const text = (field: string): string | null => {
    const value = r[field];
    if (value !== null && typeof value !== 'string') throw new CorruptRecordError(id, field, 'not a string');
    return value;
  };
  const int = (field: string): number | null => {
    const value = r[field];
    if (value !== null && !Number.isSafeInteger(value))
      throw new CorruptRecordError(id, field, 'not an integer');
    return value as number | null;
  };
  const state = r.state;
  if (typeof state !== 'string' || !(WARM_STATES as readonly string[]).includes(state)) {
    throw new CorruptRecordError(id, 'state', `unknown warm state ${JSON.stringify(state)}`);
  }
  const price = r.hourly_price;
  if (price !== null && typeof price !== 'number')
    throw new CorruptRecordError(id, 'hourly_price', 'not a number');
  return {
    id,
    route: text('route') ?? '',
    provider: text('provider') ?? '',
    state: state as WarmState,
    secret_hash: text('secret_hash'),
    instance_id: text('instance_id'),
    machine: text('machine'),
    hourly_price: price as number | null,
    dispatch_id: text('dispatch_id'),
    reason: text('reason'),
    created_at: int('created_at') ?? 0,
    ready_at: int('ready_at'),
    claimed_at: int('claimed_at'),
    updated_at: int('updated_at') ?? 0,
  };
}
