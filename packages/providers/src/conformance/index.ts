import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  CHECK_NAMES,
  type ConformanceOptions,
  type ConformanceRun,
  type ConformanceSubject,
  conformanceChecks,
} from './checks.js';
import { REBUILD_CHECK_NAMES, rebuildConformanceChecks } from './rebuild-checks.js';

export {
  CHECK_NAMES,
  type CheckOutcome,
  type ConformanceCheck,
  type ConformanceOptions,
  type ConformanceRun,
  type ConformanceSubject,
  conformanceChecks,
  EXISTING_STATES,
  isGone,
} from './checks.js';
export { REBUILD_CHECK_NAMES, rebuildConformanceChecks } from './rebuild-checks.js';

/**
 * The provider contract as a vitest suite (every provider runs it against its fake). The checks
 * themselves are plain functions (`conformanceChecks`), which `forgejo-fleet provider-check` runs
 * against a configured provider. Run it from a `*.test.ts` file:
 *
 *   describeProviderConformance('my provider', async () => ({ provider, cleanup: async () => {} }));
 */
export function describeProviderConformance(
  name: string,
  makeSubject: () => Promise<ConformanceSubject>,
  options: ConformanceOptions & { readonly timeoutMs?: number } = {},
): void {
  const timeout = options.timeoutMs;
  describe(`provider conformance: ${name}`, () => {
    let subject: ConformanceSubject | undefined;
    let runs: ConformanceRun[] = [];

    beforeAll(async () => {
      subject = await makeSubject();
      // The rebuild checks skip themselves for providers without `rebuild`.
      runs = [conformanceChecks(subject, options), rebuildConformanceChecks(subject, options)];
    }, timeout);

    afterAll(async () => {
      try {
        const failed: string[] = [];
        for (const run of runs) failed.push(...(await run.cleanup()).failed);
        if (failed.length > 0) throw new Error(`cleanup: ${failed.join('; ')}`);
      } finally {
        await subject?.cleanup();
      }
    }, timeout);

    for (const checkName of [...CHECK_NAMES, ...REBUILD_CHECK_NAMES]) {
      it(
        checkName,
        async (context) => {
          const check = runs.flatMap((run) => run.checks).find((c) => c.name === checkName);
          if (check === undefined) throw new Error('makeSubject() failed; see beforeAll');
          const outcome = await check.run();
          if (outcome.status === 'skipped') context.skip(outcome.reason);
        },
        timeout,
      );
    }
  });
}
