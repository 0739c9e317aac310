import { strict as assert } from 'node:assert';
import {
  type Instance,
  InstanceNotFoundError,
  type InstanceSpec,
  type Provider,
  ProviderError,
} from '../provider.js';
import {
  assertTagsInclude,
  type CheckOutcome,
  type ConformanceOptions,
  type ConformanceRun,
  type ConformanceSubject,
  deleteFleets,
  expectAbort,
  isGone,
  MINIMAL_USER_DATA,
  randomWord,
} from './checks.js';

export const REBUILD_CHECK_NAMES = [
  "rebuild serves the new user-data and replaces the tags with the new dispatch's",
  'rebuild with the same key again, sequentially and concurrently, does not rebuild again',
  'a rebuild that has not finished leaves the instance pending',
  'rebuild of a deleted or unknown instance is an InstanceNotFoundError',
] as const;

const PASSED: CheckOutcome = { status: 'passed' };
const NO_REBUILD: CheckOutcome = { status: 'skipped', reason: 'the provider does not offer rebuild' };

type Rebuild = NonNullable<Provider['rebuild']>;

/**
 * The optional `rebuild` capability as plain async checks, for providers that offer it (every
 * check is skipped for the others). The checks share one instance: created for one dispatch,
 * rebuilt for the next, under a throwaway fleet id that `cleanup` deletes.
 */
export function rebuildConformanceChecks(
  subject: ConformanceSubject,
  options: ConformanceOptions = {},
): ConformanceRun {
  const { provider } = subject;
  const fleetTag = options.fleetTag ?? 'forgejo-fleet';
  const baseUserData = options.userData ?? MINIMAL_USER_DATA;
  const run = randomWord();
  const fleet = `ff-conf-${run}-r`;
  const created = new Set<string>();
  let reused:
    | Promise<{ first: InstanceSpec; next: InstanceSpec; made: Instance; instance: Instance }>
    | undefined;
  const rebuild: Rebuild | undefined = provider.rebuild?.bind(provider);

  function makeSpec(): InstanceSpec {
    const id = randomWord();
    return {
      name: `ff-conf-${id}`,
      idempotencyKey: `conformance-${run}-${id}`,
      // A comment in a cloud-config and in a shell script alike: each dispatch's user-data differs.
      userData: `${baseUserData}\n# forgejo-fleet conformance: dispatch d${id}\n`,
      tags: {
        ...options.baseTags,
        [fleetTag]: fleet,
        'forgejo-fleet-dispatch': `d${id}`,
        'forgejo-fleet-route': 'conformance',
      },
    };
  }

  function ensureReused(call: Rebuild) {
    reused ??= (async () => {
      const first = makeSpec();
      const made = await provider.create(first);
      created.add(made.id);
      const next = makeSpec();
      return { first, next, made, instance: await call(made.id, next) };
    })();
    return reused;
  }

  async function liveIds(tags: Record<string, string>): Promise<string[]> {
    return (await provider.list(tags))
      .filter((i) => !isGone(i))
      .map((i) => i.id)
      .sort();
  }

  const bodies: Record<(typeof REBUILD_CHECK_NAMES)[number], (call: Rebuild) => Promise<CheckOutcome>> = {
    "rebuild serves the new user-data and replaces the tags with the new dispatch's": async (call) => {
      await expectAbort('rebuild', () => call('x', makeSpec(), { signal: AbortSignal.abort() }));
      const { first, next, made, instance } = await ensureReused(call);
      assert.equal(instance.id, made.id, 'a rebuild must keep the instance (its id)');
      assertTagsInclude(instance.tags, next.tags);
      assert.ok(
        ['pending', 'running'].includes(instance.state),
        `state ${instance.state}, expected pending or running`,
      );
      const found = await provider.get(made.id);
      assert.ok(found !== undefined, 'get returned nothing for a rebuilt instance');
      assertTagsInclude(found.tags, next.tags);
      const dispatch = 'forgejo-fleet-dispatch';
      assert.deepEqual(await liveIds({ [fleetTag]: fleet, [dispatch]: next.tags[dispatch] ?? '' }), [
        made.id,
      ]);
      assert.deepEqual(
        await liveIds({ [fleetTag]: fleet, [dispatch]: first.tags[dispatch] ?? '' }),
        [],
        "list by the old dispatch's tag still finds the rebuilt instance",
      );
      if (subject.userDataOf !== undefined)
        assert.equal(
          await subject.userDataOf(instance),
          next.userData,
          'the rebuilt VM did not get the new user-data',
        );
      return PASSED;
    },

    'rebuild with the same key again, sequentially and concurrently, does not rebuild again': async (
      call,
    ) => {
      const { next, made, instance } = await ensureReused(call);
      const before = await subject.rebuildsOf?.(instance);
      const [a, b] = await Promise.all([call(made.id, next), call(made.id, next)]);
      const c = await call(made.id, next);
      for (const again of [a, b, c]) {
        assert.equal(again.id, made.id, 'a repeated rebuild answered another instance');
        assertTagsInclude(again.tags, next.tags);
      }
      if (before !== undefined)
        assert.equal(
          await subject.rebuildsOf?.(instance),
          before,
          'a repeated rebuild with the same key rebuilt again',
        );
      if (subject.userDataOf !== undefined) assert.equal(await subject.userDataOf(instance), next.userData);
      return PASSED;
    },

    'a rebuild that has not finished leaves the instance pending': async (call) => {
      const stall = subject.stallNextRebuild;
      if (stall === undefined) return { status: 'skipped', reason: 'the subject cannot stall a rebuild' };
      const { made } = await ensureReused(call);
      await stall();
      const outcome = await call(made.id, makeSpec()).then(
        () => undefined,
        (error: unknown) => error,
      );
      assert.ok(
        outcome instanceof ProviderError,
        'a rebuild that never finishes must fail with a ProviderError',
      );
      assert.ok(
        outcome.retryable,
        `a rebuild that did not finish in time is retryable, got ${outcome.class}`,
      );
      const found = await provider.get(made.id);
      assert.equal(found?.state, 'pending', 'an instance whose rebuild has not finished must be pending');
      return PASSED;
    },

    'rebuild of a deleted or unknown instance is an InstanceNotFoundError': async (call) => {
      const { made } = await ensureReused(call);
      await provider.delete(made.id);
      created.delete(made.id);
      const ids = [made.id, ...(options.unknownId === undefined ? [] : [options.unknownId])];
      for (const id of ids) {
        const outcome = await call(id, makeSpec()).then(
          () => undefined,
          (error: unknown) => error,
        );
        assert.ok(
          outcome instanceof InstanceNotFoundError,
          `rebuild of ${id === made.id ? 'a deleted' : 'an unknown'} instance: expected an InstanceNotFoundError, got ${String(outcome)}`,
        );
        assert.equal(outcome.retryable, false);
      }
      return PASSED;
    },
  };

  return {
    checks: REBUILD_CHECK_NAMES.map((name) => ({
      name,
      run: () => (rebuild === undefined ? Promise.resolve(NO_REBUILD) : bodies[name](rebuild)),
    })),
    fleets: [fleet],
    cleanup: () => deleteFleets(provider, fleetTag, [fleet], created),
  };
}
