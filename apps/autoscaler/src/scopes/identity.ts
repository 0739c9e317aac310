import type { ForgejoClient, Scope } from '@forgejo-fleet/forgejo';

/**
 * The ids behind a scope's names. Jobs carry only `repo_id` and `owner_id`, so these decide which
 * configured scopes contain a job, whichever poller saw it.
 */
export type ScopeIdentity =
  | { readonly kind: 'instance' }
  | { readonly kind: 'owner'; readonly ownerId: number }
  | { readonly kind: 'repo'; readonly repoId: number; readonly ownerId: number };

/** A scope whose names do not resolve (missing org, token of another user): a config problem. */
export class ScopeIdentityError extends Error {
  override readonly name = 'ScopeIdentityError';
}

/** One lookup per scope (none for the instance), with the scope's own token. */
export async function resolveIdentity(
  client: ForgejoClient,
  scope: Scope,
  signal?: AbortSignal,
): Promise<ScopeIdentity> {
  const opts = signal ? { signal } : {};
  switch (scope.kind) {
    case 'instance':
      return { kind: 'instance' };
    case 'org': {
      const org = await client.getOrg(scope.org, opts);
      if (!org) throw new ScopeIdentityError(`organization ${scope.org} does not exist`);
      return { kind: 'owner', ownerId: org.id };
    }
    case 'user': {
      // The user scope's endpoints are the token owner's (`/user/...`): the token must be NAME's.
      const user = await client.getCurrentUser(opts);
      if (user.login.toLowerCase() !== scope.user.toLowerCase()) {
        throw new ScopeIdentityError(
          `the token of user:${scope.user} belongs to ${user.login}; /user endpoints would show their jobs`,
        );
      }
      return { kind: 'owner', ownerId: user.id };
    }
    case 'repo': {
      const repo = await client.getRepo(scope.owner, scope.repo, opts);
      if (!repo) throw new ScopeIdentityError(`repository ${scope.owner}/${scope.repo} does not exist`);
      return { kind: 'repo', repoId: repo.id, ownerId: repo.owner.id };
    }
  }
}

/** Whether a scope with this identity sees the job. */
export function identityContains(
  identity: ScopeIdentity,
  job: { readonly repo_id: number; readonly owner_id: number },
): boolean {
  switch (identity.kind) {
    case 'instance':
      return true;
    case 'owner':
      return job.owner_id === identity.ownerId;
    case 'repo':
      return job.repo_id === identity.repoId;
  }
}
