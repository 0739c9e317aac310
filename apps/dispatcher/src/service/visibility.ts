/** Who asks: an API client's name and the scopes it may see and act on (`*`: every scope). */
export interface Caller {
  readonly name: string;
  readonly scopes: '*' | readonly string[];
}

/** The dispatcher itself (the reconciler, tests): sees everything. */
export const INTERNAL: Caller = { name: 'dispatcher', scopes: '*' };

/**
 * Whether `caller` may see something of `scope`. Fleet-wide things (no scope: a warm pool VM, a
 * global refusal) belong to no tenant, so only a `*` client sees them.
 */
export function canSee(caller: Caller, scope: string | null): boolean {
  if (caller.scopes === '*') return true;
  return scope !== null && caller.scopes.includes(scope);
}

/** The scope filter for store queries: undefined for a `*` caller (no filter). */
export function visibleScopes(caller: Caller): readonly string[] | undefined {
  return caller.scopes === '*' ? undefined : caller.scopes;
}
