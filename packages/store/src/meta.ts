import { randomBytes } from 'node:crypto';
import type { Database } from 'better-sqlite3';

/** A new store id: `s` + 16 lowercase hex digits, fit for a tag, a label and a description. */
export function randomStoreId(bytes: (n: number) => Uint8Array = randomBytes): string {
  return `s${Buffer.from(bytes(8)).toString('hex')}`;
}

/**
 * The store's id, created on first open (also for a store made before ids existed) and never
 * changed: it is written into every VM's tags and runner registration as its owner mark. Read
 * under the write lock, so two connections opening a new file at once agree on one id.
 */
export function ensureStoreId(db: Database, newId: () => string): string {
  const run = db.transaction((): string => {
    db.prepare("INSERT INTO meta (key, value) VALUES ('store_id', ?) ON CONFLICT (key) DO NOTHING").run(
      newId(),
    );
    const row = db.prepare("SELECT value FROM meta WHERE key = 'store_id'").get() as { value: string };
    return row.value;
  });
  return run.immediate();
}
