/**
 * Where Forgejo sees jobs and registers runners. Written as `instance`, `org:NAME`,
 * `user:NAME` or `repo:OWNER/NAME` everywhere (config keys, API bodies, metrics labels).
 */
export type Scope =
  | { readonly kind: 'instance' }
  | { readonly kind: 'org'; readonly org: string }
  | { readonly kind: 'user'; readonly user: string }
  | { readonly kind: 'repo'; readonly owner: string; readonly repo: string };

// Forgejo user, org and repo names: alphanumerics, dash, underscore, dot; no leading/trailing dot or dash.
const NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,98}[A-Za-z0-9_])?$/;

export class ScopeSyntaxError extends Error {
  override readonly name = 'ScopeSyntaxError';
}

/** Parses `instance`, `org:NAME`, `user:NAME` or `repo:OWNER/NAME`; throws ScopeSyntaxError with the fix. */
export function parseScope(text: string): Scope {
  if (text === 'instance') return { kind: 'instance' };
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const rest = colon < 0 ? '' : text.slice(colon + 1);
  switch (kind) {
    case 'org':
      return { kind: 'org', org: checkName(text, rest) };
    case 'user':
      return { kind: 'user', user: checkName(text, rest) };
    case 'repo': {
      const [owner = '', repo = '', ...extra] = rest.split('/');
      if (extra.length > 0) throw new ScopeSyntaxError(`scope "${text}": expected repo:OWNER/NAME`);
      return { kind: 'repo', owner: checkName(text, owner), repo: checkName(text, repo) };
    }
    default:
      throw new ScopeSyntaxError(
        `scope "${text}": expected instance, org:NAME, user:NAME or repo:OWNER/NAME`,
      );
  }
}

function checkName(text: string, name: string): string {
  if (!NAME.test(name)) {
    throw new ScopeSyntaxError(
      `scope "${text}": "${name}" is not a valid Forgejo name (letters, digits, "-", "_", ".")`,
    );
  }
  return name;
}

export function formatScope(scope: Scope): string {
  switch (scope.kind) {
    case 'instance':
      return 'instance';
    case 'org':
      return `org:${scope.org}`;
    case 'user':
      return `user:${scope.user}`;
    case 'repo':
      return `repo:${scope.owner}/${scope.repo}`;
  }
}

/** The API path prefix under /api/v1 for a scope's runner and hook endpoints. */
export function scopeApiPrefix(scope: Scope): string {
  switch (scope.kind) {
    case 'instance':
      return '/admin';
    case 'org':
      return `/orgs/${encodeURIComponent(scope.org)}`;
    case 'user':
      return '/user';
    case 'repo':
      return `/repos/${encodeURIComponent(scope.owner)}/${encodeURIComponent(scope.repo)}`;
  }
}

/**
 * True when `outer` sees the jobs of `inner`: the instance sees everything, an org or user
 * sees its repositories, a repo sees itself. `ownerOf` tells whether a user/org name owns a repo
 * (Forgejo names are case-insensitive).
 */
export function scopeContains(outer: Scope, inner: Scope): boolean {
  if (outer.kind === 'instance') return true;
  if (inner.kind === 'instance') return false;
  const outerOwner = outer.kind === 'org' ? outer.org : outer.kind === 'user' ? outer.user : outer.owner;
  const innerOwner = inner.kind === 'org' ? inner.org : inner.kind === 'user' ? inner.user : inner.owner;
  if (outerOwner.toLowerCase() !== innerOwner.toLowerCase()) return false;
  if (outer.kind === 'repo')
    return inner.kind === 'repo' && outer.repo.toLowerCase() === inner.repo.toLowerCase();
  return true;
}

/** Higher is more specific: a job seen by several scopes is served by the most specific one. */
export function scopeSpecificity(scope: Scope): number {
  return scope.kind === 'instance' ? 0 : scope.kind === 'repo' ? 2 : 1;
}
