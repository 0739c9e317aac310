import { type Scope, scopeContains, scopeSpecificity } from '@forgejo-fleet/forgejo';
import { identityContains, type ScopeIdentity } from './identity.js';

export interface ScopeView {
  readonly key: string;
  readonly scope: Scope;
  /** Undefined until resolved. */
  readonly identity: ScopeIdentity | undefined;
}

/**
 * The configured scope a job is dispatched for: the most specific one that contains it, because a
 * runner registered there is the narrowest that can take it. Containment comes from resolved ids;
 * the scope whose list showed the job contains it by definition, even before its ids are known.
 * A scope whose ids are not resolved yet (its token is rejected) cannot claim other scopes' jobs.
 */
export function owningScope<S extends ScopeView>(
  scopes: readonly S[],
  job: { readonly repo_id: number; readonly owner_id: number },
  seenIn: S,
): S {
  let best = seenIn;
  for (const candidate of scopes) {
    if (scopeSpecificity(candidate.scope) <= scopeSpecificity(best.scope)) continue;
    if (candidate.identity !== undefined && identityContains(candidate.identity, job)) best = candidate;
  }
  return best;
}

/** The most specific configured scope containing a repository (webhooks name repositories, not jobs). */
export function scopesForRepo<S extends ScopeView>(scopes: readonly S[], owner: string, repo: string): S[] {
  const inner: Scope = { kind: 'repo', owner, repo };
  return scopes
    .filter((s) => scopeContains(s.scope, inner))
    .sort((a, b) => scopeSpecificity(b.scope) - scopeSpecificity(a.scope));
}
