import { formatZodPath } from '@forgejo-fleet/runtime';
import type { z } from 'zod';

/** The bootstrap input is invalid; `issues` name each field (`labels[2]`, `runner.uuid`). */
export class InvalidRunnerBootstrapError extends Error {
  override readonly name = 'InvalidRunnerBootstrapError';
  readonly issues: ReadonlyArray<{ path: string; message: string }>;

  constructor(error: z.ZodError) {
    const issues = error.issues.map((issue) => ({
      path: formatZodPath(issue.path) || '(root)',
      message: issue.message,
    }));
    super(`invalid runner bootstrap: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.issues = issues;
  }
}

/** The rendered user-data would not fit the smallest provider limit (EC2: 16 KB raw). */
export class UserDataTooLargeError extends Error {
  override readonly name = 'UserDataTooLargeError';

  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(
      `rendered user-data is ${bytes} bytes, over the ${limit}-byte limit (EC2 allows 16 KB): use fewer or shorter labels`,
    );
  }
}
