import type { Context } from 'hono';

/** `[api] DEFAULT_PAGING_NUM` and `MAX_RESPONSE_ITEMS`. */
export const DEFAULT_PAGE_SIZE = 30;
export const MAX_PAGE_SIZE = 50;

export interface ListOptions {
  page: number;
  pageSize: number;
}

/** Go `strconv.Atoi` as `ctx.FormInt` uses it: 0 on anything invalid. */
function formInt(value: string | undefined): number {
  return value !== undefined && /^[+-]?\d+$/.test(value.trim()) ? Number(value.trim()) : 0;
}

/** `utils.GetListOptions`: 1-based page, limit defaulting to 30 and clamped to 50. */
export function listOptions(c: Context): ListOptions {
  const limit = formInt(c.req.query('limit'));
  const pageSize = limit <= 0 ? DEFAULT_PAGE_SIZE : Math.min(limit, MAX_PAGE_SIZE);
  return { page: Math.max(1, formInt(c.req.query('page'))), pageSize };
}

export function paginate<T>(items: readonly T[], o: ListOptions): T[] {
  return items.slice((o.page - 1) * o.pageSize, o.page * o.pageSize);
}

/**
 * `APIContext.SetLinkHeader` (`genAPILinks`): `next`, `last`, `first`, `prev` links, comma-joined; no header
 * at all when there is a single page.
 */
export function setLinkHeader(c: Context, total: number, pageSize: number): void {
  const url = new URL(c.req.url);
  const totalPages = total === 0 ? 1 : Math.ceil(total / pageSize);
  const current = Math.min(Math.max(1, formInt(url.searchParams.get('page') ?? undefined)), totalPages);
  const link = (page: number, rel: string) => {
    const q = new URLSearchParams(url.searchParams);
    q.set('page', String(page));
    q.sort();
    return `<${url.origin}${url.pathname}?${q.toString()}>; rel="${rel}"`;
  };
  const hasNext = total > current * pageSize;
  const isLast = total === 0 || (total > (current - 1) * pageSize && !hasNext);
  const links: string[] = [];
  if (hasNext) links.push(link(current + 1, 'next'));
  if (!isLast) links.push(link(totalPages, 'last'));
  if (current !== 1) links.push(link(1, 'first'));
  if (current > 1) links.push(link(current - 1, 'prev'));
  if (links.length > 0) c.header('Link', links.join(','));
}

export function setTotalCountHeader(c: Context, total: number): void {
  c.header('X-Total-Count', String(total));
}

/** Go `strconv.ParseBool` as `ctx.FormBool` uses it: false on anything invalid. */
export function formBool(value: string | undefined): boolean {
  return value !== undefined && ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value);
}
