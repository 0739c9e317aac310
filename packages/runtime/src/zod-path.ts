import type { z } from 'zod';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * A zod issue path as an operator reads it: `routes[1].providers[0]`, `scopes["org:acme"].token_file`.
 * With `root`, the path continues it: `response.body[0].handle`. An empty path gives `root` (or '').
 */
export function formatZodPath(path: readonly PropertyKey[], root = ''): string {
  let out = root;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (typeof part === 'string' && IDENTIFIER.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out;
}

export interface FieldError {
  /** `formatZodPath` of the field; '' for the value as a whole. */
  readonly path: string;
  readonly message: string;
}

/** zod's issues as one `{ path, message }` per issue, for error bodies and messages. */
export function fieldErrors(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  return issues.map((issue) => ({ path: formatZodPath(issue.path), message: issue.message }));
}
