import { parseScope } from '@forgejo-fleet/forgejo';
import { describe, expect, it } from 'vitest';
import type { ScopeIdentity } from './identity.js';
import { owningScope, type ScopeView, scopesForRepo } from './owning-scope.js';

function view(key: string, identity?: ScopeIdentity): ScopeView {
  return { key, scope: parseScope(key), identity };
}

const instance = view('instance', { kind: 'instance' });
const org = view('org:acme', { kind: 'owner', ownerId: 10 });
const user = view('user:alice', { kind: 'owner', ownerId: 20 });
const repo = view('repo:acme/web', { kind: 'repo', repoId: 100, ownerId: 10 });
const all = [instance, org, user, repo];

describe('owningScope', () => {
  it.each([
    ['repo job seen by the instance', { repo_id: 100, owner_id: 10 }, instance, 'repo:acme/web'],
    ['org job seen by the instance', { repo_id: 101, owner_id: 10 }, instance, 'org:acme'],
    ['repo job seen by the org', { repo_id: 100, owner_id: 10 }, org, 'repo:acme/web'],
    ['user job', { repo_id: 200, owner_id: 20 }, instance, 'user:alice'],
    ['job of nobody configured', { repo_id: 300, owner_id: 30 }, instance, 'instance'],
  ])('%s goes to %s', (_name, job, seenIn, expected) => {
    expect(owningScope(all, job, seenIn).key).toBe(expected);
  });

  it('lets an unresolved scope keep what it saw itself, but claim nothing seen elsewhere', () => {
    const unresolved = view('repo:acme/web');
    const scopes = [instance, org, unresolved];
    expect(owningScope(scopes, { repo_id: 100, owner_id: 10 }, unresolved).key).toBe('repo:acme/web');
    expect(owningScope(scopes, { repo_id: 100, owner_id: 10 }, instance).key).toBe('org:acme');
  });
});

describe('scopesForRepo', () => {
  it('lists the configured scopes containing a repository, most specific first', () => {
    expect(scopesForRepo(all, 'ACME', 'web').map((s) => s.key)).toEqual([
      'repo:acme/web',
      'org:acme',
      'instance',
    ]);
    expect(scopesForRepo([org, user], 'bob', 'x')).toEqual([]);
  });
});
