import type { z } from 'zod';

/** `response.body[0].handle: expected string, received undefined (and 2 more)` */
export function describeIssues(root: string, issues: readonly z.core.$ZodIssue[]): string {
  const [first] = issues;
  if (!first) return `${root}: invalid`;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return `${root}${formatPath(first.path)}: ${first.message.replace(/^Invalid input: /, '')}${more}`;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key) =>
      typeof key === 'number'
        ? `[${key}]`
        : typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)
          ? `.${key}`
          : `[${JSON.stringify(String(key))}]`,
    )
    .join('');
}
