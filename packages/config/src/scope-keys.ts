import { formatScope, parseScope, type Scope, ScopeSyntaxError } from '@forgejo-fleet/forgejo';
import type { ConfigIssue } from './issues.js';

export interface ParsedScopeKey<T> {
  /** The scope in canonical form, e.g. `org:acme`. */
  readonly key: string;
  /** The key as the operator wrote it, for error paths. */
  readonly written: string;
  readonly scope: Scope;
  readonly settings: T;
}

/**
 * Parses the keys of a `scopes:` mapping, reporting malformed keys and keys that name the same
 * scope twice (Forgejo names are case-insensitive); returns the well-formed, distinct ones.
 */
export function parseScopeKeys<T>(
  scopes: Readonly<Record<string, T>>,
  issues: ConfigIssue[],
  emptyMessage: string,
): ParsedScopeKey<T>[] {
  if (Object.keys(scopes).length === 0) issues.push({ path: ['scopes'], message: emptyMessage });
  const seen = new Map<string, string>();
  const out: ParsedScopeKey<T>[] = [];
  for (const [written, settings] of Object.entries(scopes)) {
    let scope: Scope;
    try {
      scope = parseScope(written);
    } catch (error) {
      if (!(error instanceof ScopeSyntaxError)) throw error;
      issues.push({ path: ['scopes', written], message: error.message });
      continue;
    }
    const key = formatScope(scope);
    const twin = seen.get(key.toLowerCase());
    if (twin !== undefined) {
      issues.push({
        path: ['scopes', written],
        message: `duplicate scope (same as "${twin}"; Forgejo names are case-insensitive)`,
      });
      continue;
    }
    seen.set(key.toLowerCase(), written);
    out.push({ key, written, scope, settings });
  }
  return out;
}
