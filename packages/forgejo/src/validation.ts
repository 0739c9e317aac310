import { formatZodPath } from '@forgejo-fleet/runtime';
import type { z } from 'zod';

/** `response.body[0].handle: expected string, received undefined (and 2 more)` */
export function describeIssues(root: string, issues: readonly z.core.$ZodIssue[]): string {
  const [first] = issues;
  if (!first) return `${root}: invalid`;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return `${formatZodPath(first.path, root)}: ${first.message.replace(/^Invalid input: /, '')}${more}`;
}
