/** Page size we ask for; Forgejo clamps it to `[api] MAX_RESPONSE_ITEMS` (default 50). */
export const PAGE_LIMIT = 50;
const MAX_PAGES = 1_000;

export type Page<T> = { items: readonly T[]; header: (name: string) => string | undefined };

/**
 * Fetches `page=1,2,…` until done: a `Link` header decides when present (continue while it has
 * rel="next"), else `X-Total-Count` (continue while fewer were collected), else the list is
 * unpaginated and one page is all. Also stops on an empty page. Items are deduplicated by id:
 * runners are ordered by last_online, so one may move to the next page between requests.
 */
export async function collectPages<T extends { id: number }>(
  fetchPage: (page: number, limit: number) => Promise<Page<T>>,
): Promise<T[]> {
  const byId = new Map<number, T>();
  for (let page = 1; page <= MAX_PAGES; page++) {
    const { items, header } = await fetchPage(page, PAGE_LIMIT);
    for (const item of items) if (!byId.has(item.id)) byId.set(item.id, item);
    if (items.length === 0) break;
    const link = header('link');
    if (link !== undefined) {
      if (!hasNextLink(link)) break;
      continue;
    }
    const total = Number.parseInt(header('x-total-count') ?? '', 10);
    if (Number.isNaN(total) || byId.size >= total) break;
  }
  return [...byId.values()];
}

export function hasNextLink(link: string): boolean {
  return link.split(',').some((part) => /;\s*rel="?([^"]*\s)?next(\s[^"]*)?"?\s*(;|$)/i.test(part));
}
