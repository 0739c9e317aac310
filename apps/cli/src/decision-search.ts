import type { ApiFailure, DispatchApiClient } from '@forgejo-fleet/dispatch-api';

type Found = { readonly ok: true; readonly after: number } | ApiFailure;

/**
 * The `after` cursor whose next page starts at the first decision at or after `sinceMs`. The API
 * lists decisions oldest first from a sequence number and has no time filter, so this bisects on
 * `after` with one-item pages: about 2·log2(decisions) small requests, however long the log is,
 * instead of reading it from the start. Decisions are written in time order, so `at` grows with
 * `seq`; a client's scope filter keeps that order.
 */
export async function afterForTime(
  api: DispatchApiClient,
  sinceMs: number,
  signal?: AbortSignal,
): Promise<Found> {
  // True when the first decision after `after` is at or after `sinceMs`, or there is none.
  const isLate = async (after: number): Promise<boolean | ApiFailure> => {
    const page = await api.decisions({ after, limit: 1 }, signal ? { signal } : {});
    if (!page.ok) return page;
    const first = page.value.items[0];
    return first === undefined || Date.parse(first.at) >= sinceMs;
  };
  let early = 0;
  const fromStart = await isLate(0);
  if (typeof fromStart !== 'boolean') return fromStart;
  if (fromStart) return { ok: true, after: 0 };
  // Gallop up until a cursor is late, then bisect between the last early and the first late one.
  let late = 1;
  for (;;) {
    const probe = await isLate(late);
    if (typeof probe !== 'boolean') return probe;
    if (probe) break;
    early = late;
    late *= 2;
  }
  while (late - early > 1) {
    const middle = Math.floor((early + late) / 2);
    const probe = await isLate(middle);
    if (typeof probe !== 'boolean') return probe;
    if (probe) late = middle;
    else early = middle;
  }
  return { ok: true, after: late };
}
