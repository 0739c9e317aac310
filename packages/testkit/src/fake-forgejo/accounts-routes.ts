import type { Hono } from 'hono';
import { requireTokenScope } from './auth.js';
import type { AppEnv } from './env.js';
import { notFound } from './errors.js';
import { repositoryJson } from './payloads.js';
import { accountByName, repoByName, type State } from './state.js';

/**
 * `GET /repos/{owner}/{repo}`, `GET /orgs/{org}` and `GET /user`: what a client needs to learn the ids
 * behind scope names. Registered before the scope middleware, because reading a (public) repository or
 * organization needs no ownership, only the token scope.
 */
export function addAccountRoutes(api: Hono<AppEnv>, state: State): void {
  api.get('/repos/:owner/:repo', requireTokenScope('repository'), (c) => {
    const repo = repoByName(state, c.req.param('owner'), c.req.param('repo'));
    if (!repo) return notFound(c);
    return c.json(repositoryJson(state, repo));
  });

  api.get('/orgs/:org', requireTokenScope('organization'), (c) => {
    const org = accountByName(state, c.req.param('org'));
    if (org?.kind !== 'org') return notFound(c);
    return c.json({
      id: org.id,
      name: org.name,
      full_name: '',
      email: '',
      avatar_url: `${state.baseUrl}/avatars/${org.id}`,
      description: '',
      website: '',
      location: '',
      visibility: 'public',
      repo_admin_change_team_access: false,
      username: org.name,
    });
  });

  api.get('/user', requireTokenScope('user'), (c) => {
    const doer = c.get('doer');
    return c.json({
      id: doer.id,
      login: doer.name,
      login_name: '',
      full_name: '',
      email: `${doer.name}@noreply.localhost`,
      is_admin: doer.admin,
      username: doer.name,
    });
  });
}
