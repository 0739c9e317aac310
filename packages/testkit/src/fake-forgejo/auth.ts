import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './env.js';
import { apiError } from './errors.js';
import type { State } from './state.js';

/** Access token scope categories (`models/auth/access_token_scope.go`). */
export type ScopeCategory = 'admin' | 'organization' | 'repository' | 'user';

/** Token from `Authorization: token T` / `Bearer T` (scheme case-insensitive) or `?token=` / `?access_token=`. */
export function tokenOf(authorization: string | undefined, query: URLSearchParams): string | undefined {
  if (authorization !== undefined) {
    const m = /^(token|bearer)\s+(\S+)\s*$/i.exec(authorization.trim());
    return m?.[2];
  }
  return query.get('token') ?? query.get('access_token') ?? undefined;
}

/** Resolves the token owner: 401 without a token or with an unknown one. */
export function authenticate(state: State): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = tokenOf(c.req.header('authorization'), new URL(c.req.url).searchParams);
    if (token === undefined || token === '') return apiError(c, 401, 'token is required');
    const record = state.tokens.get(token);
    const doer = record ? state.accounts.get(record.userId) : undefined;
    if (!record || !doer) return apiError(c, 401, 'user does not exist [uid: 0, name: ]');
    c.set('token', record);
    c.set('doer', doer);
    await next();
  };
}

/** GET/HEAD need `read:<category>`, everything else `write:<category>` (`tokenRequiresScopes`). */
export function requiredScope(method: string, category: ScopeCategory): string {
  const level = method === 'GET' || method === 'HEAD' ? 'read' : 'write';
  return `${level}:${category}`;
}

/** `all` covers everything; `write:X` implies `read:X`. */
export function tokenHasScope(scopes: readonly string[], required: string): boolean {
  if (scopes.includes('all') || scopes.includes(required)) return true;
  const [level, category] = required.split(':');
  return level === 'read' && scopes.includes(`write:${category}`);
}

/** 403 when the token lacks the category's scope for this method. */
export function requireTokenScope(category: ScopeCategory): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const required = requiredScope(c.req.method, category);
    if (!tokenHasScope(c.get('token').scopes, required)) {
      return apiError(c, 403, `token does not have at least one of required scope(s): [${required}]`);
    }
    await next();
  };
}
