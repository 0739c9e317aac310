import { z } from 'zod';
import type { KubeObject } from './types.js';

// `limit`/`continue` as the API server does them: every page of one list comes from the snapshot the
// first page was read at; a token names that snapshot's revision and the key to resume after (the
// shape of apiserver's `storage.continueToken`). Snapshots expire (etcd compaction), then the token
// gets 410 Expired with a fresh token that resumes from a newer snapshot.

const ContinueToken = z.object({
  v: z.literal('meta.k8s.io/v1'),
  rv: z.number().int().positive(),
  start: z.string(),
});

export class BadContinueError extends Error {
  override readonly name = 'BadContinueError';
}

/** A token resuming at `start`: the key after the last one read (`name` + NUL, as etcd keys go). */
export function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url');
}

export function decodeContinue(token: string): { rv: number; start: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new BadContinueError('continue key is not valid: not base64-encoded JSON');
  }
  const result = ContinueToken.safeParse(parsed);
  if (!result.success) throw new BadContinueError('continue key is not valid: unexpected shape');
  return result.data;
}

interface Snapshot {
  readonly items: readonly KubeObject[];
  readonly takenAt: number;
}

/** Snapshots of lists that have more pages, by `collection@rv`. */
export function createSnapshots(now: () => number, ttlMs: number) {
  const snapshots = new Map<string, Snapshot>();

  function sweep(): void {
    for (const [k, s] of snapshots) if (now() - s.takenAt >= ttlMs) snapshots.delete(k);
  }

  return {
    take(collection: string, rv: number, items: readonly KubeObject[]): void {
      sweep();
      const k = `${collection}@${rv}`;
      if (!snapshots.has(k)) snapshots.set(k, { items: structuredClone(items), takenAt: now() });
    },
    /** The snapshot a token refers to, or undefined when it expired. */
    find(collection: string, rv: number): readonly KubeObject[] | undefined {
      sweep();
      return snapshots.get(`${collection}@${rv}`)?.items;
    },
    expireAll(): void {
      snapshots.clear();
    },
  };
}

export interface Page {
  readonly items: readonly KubeObject[];
  /** The name to resume after, when keys remain past the last one read. */
  readonly resumeAfter: string | undefined;
  /** Objects left after this page (all of them, matching or not). */
  readonly remaining: number;
}

/**
 * One page: the objects after `start` that `match`, up to `limit`. Like etcd-backed lists, a token is
 * given whenever keys remain past the last object read, even if none of them match: a page may be
 * short, and the last one empty.
 */
export function readPage(
  items: readonly KubeObject[],
  match: (object: KubeObject) => boolean,
  start: string | undefined,
  limit: number | undefined,
): Page {
  const after = start === undefined ? items : items.filter((o) => o.metadata.name >= start);
  if (limit === undefined) return { items: after.filter(match), resumeAfter: undefined, remaining: 0 };
  const taken: KubeObject[] = [];
  let last = -1;
  for (const [i, object] of after.entries()) {
    if (!match(object)) continue;
    taken.push(object);
    if (taken.length === limit) {
      last = i;
      break;
    }
  }
  if (last < 0 || last === after.length - 1) return { items: taken, resumeAfter: undefined, remaining: 0 };
  return { items: taken, resumeAfter: after[last]?.metadata.name, remaining: after.length - 1 - last };
}
