import type { MiddlewareHandler } from 'hono';
import { requireTokenScope } from './auth.js';
import type { AppEnv } from './env.js';
import { apiError, notFound } from './errors.js';
import { accountByName, isOrgOwner, isRepoAdmin, repoByName, type State } from './state.js';

/** `/admin/*`: `{read,write}:admin` and a site admin. */
export function adminScope(): MiddlewareHandler<AppEnv>[] {
  return [
    requireTokenScope('admin'),
    async (c, next) => {
      if (!c.get('doer').admin) return apiError(c, 403, 'user should be the site admin');
      c.set('scope', { kind: 'admin', ownerId: 0, repoId: 0, repo: null });
      await next();
    },
  ];
}

/** `/orgs/{org}/*`: `{read,write}:organization`, the org must exist (404) and the doer own it (403). */
export function orgScope(state: State): MiddlewareHandler<AppEnv>[] {
  return [
    requireTokenScope('organization'),
    async (c, next) => {
      const org = accountByName(state, c.req.param('org') ?? '');
      if (org?.kind !== 'org') return notFound(c);
      if (!isOrgOwner(c.get('doer'), org)) return apiError(c, 403, 'Must be an organization owner');
      c.set('scope', { kind: 'org', ownerId: org.id, repoId: 0, repo: null });
      await next();
    },
  ];
}

/** `/user/*`: `{read,write}:user`; the scope is the token owner. */
export function userScope(): MiddlewareHandler<AppEnv>[] {
  return [
    requireTokenScope('user'),
    async (c, next) => {
      c.set('scope', { kind: 'user', ownerId: c.get('doer').id, repoId: 0, repo: null });
      await next();
    },
  ];
}

/**
 * `/repos/{owner}/{repo}/*`: `{read,write}:repository`, the repo must exist (404), the doer must own it
 * (user, org owner or site admin; 403), and its `actions/...` endpoints 404 when Actions is disabled.
 */
export function repoScope(state: State): MiddlewareHandler<AppEnv>[] {
  return [
    requireTokenScope('repository'),
    async (c, next) => {
      const repo = repoByName(state, c.req.param('owner') ?? '', c.req.param('repo') ?? '');
      if (!repo) return notFound(c);
      // Path after /api/v1/repos/{owner}/{repo}/.
      const rest = new URL(c.req.url).pathname.split('/').slice(6).join('/');
      const actions = rest.startsWith('actions/');
      if (!isRepoAdmin(state, c.get('doer'), repo)) {
        return apiError(
          c,
          403,
          actions
            ? 'user should be the owner of the repo'
            : 'user should be an owner or a collaborator with admin write of a repository',
        );
      }
      if (actions && !repo.actionsEnabled) return notFound(c);
      c.set('scope', { kind: 'repo', ownerId: 0, repoId: repo.id, repo });
      await next();
    },
  ];
}
