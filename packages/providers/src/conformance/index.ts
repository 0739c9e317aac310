import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Instance, InstanceSpec, InstanceState, Provider } from '../provider.js';

/** What `makeProvider` hands the suite; `cleanup` runs once after the last test. */
export interface ConformanceSubject {
  readonly provider: Provider;
  cleanup(): Promise<void>;
}

export interface ConformanceOptions {
  /** User-data for every instance the suite creates (default: a `#cloud-config` that does nothing). */
  readonly userData?: string;
  /** An id in the provider's format that never exists; enables the "unknown id" checks. */
  readonly unknownId?: string;
  /** Tag key holding the fleet id (default `forgejo-fleet-fleet`). */
  readonly fleetTag?: string;
  /** Per-test timeout for providers that talk to a real cloud (default: vitest's). */
  readonly timeoutMs?: number;
}

/** States in which an instance still exists: created, booting, running its job or powered off. */
export const EXISTING_STATES: readonly InstanceState[] = ['pending', 'running', 'stopping', 'stopped'];

const MINIMAL_USER_DATA = '#cloud-config\n{}\n';

function randomWord(): string {
  return randomBytes(5).toString('hex');
}

/** After a successful delete, a provider may still show the instance as `terminated` (EC2 does for ~1 h). */
function isGone(instance: Instance | undefined): boolean {
  return instance === undefined || instance.state === 'terminated';
}

/**
 * The contract every provider passes (EC2, Hetzner, shell + your script). Every test uses its own fleet
 * id, so it only ever sees the instances it created, and the suite deletes whatever it created even when
 * a test fails. Run it from a `*.test.ts` file:
 *
 *   describeProviderConformance('my provider', async () => ({ provider, cleanup: async () => {} }));
 */
export function describeProviderConformance(
  name: string,
  makeProvider: () => Promise<ConformanceSubject>,
  options: ConformanceOptions = {},
): void {
  const fleetTag = options.fleetTag ?? 'forgejo-fleet-fleet';
  const userData = options.userData ?? MINIMAL_USER_DATA;
  const run = randomWord();
  const timeout = options.timeoutMs;

  describe(`provider conformance: ${name}`, () => {
    let subject: ConformanceSubject | undefined;
    const created = new Set<string>();

    function provider(): Provider {
      if (subject === undefined) throw new Error('makeProvider() failed; see beforeAll');
      return subject.provider;
    }

    function makeSpec(fleet: string, overrides: Partial<InstanceSpec> = {}): InstanceSpec {
      const id = randomWord();
      return {
        name: `ff-conf-${id}`,
        idempotencyKey: `conformance-${run}-${id}`,
        userData,
        tags: {
          [fleetTag]: fleet,
          'forgejo-fleet-dispatch': `dsp-${id}`,
          'forgejo-fleet-route': 'conformance',
        },
        ...overrides,
      };
    }

    async function create(spec: InstanceSpec): Promise<Instance> {
      const instance = await provider().create(spec);
      created.add(instance.id);
      return instance;
    }

    function expectMatches(instance: Instance, spec: InstanceSpec) {
      expect(instance.id).toEqual(expect.any(String));
      expect(instance.id).not.toBe('');
      expect(instance.name).toBe(spec.name);
      // Providers may add tags of their own (EC2's Name); ours must all be there, unchanged.
      expect(instance.tags).toMatchObject(spec.tags);
    }

    beforeAll(async () => {
      subject = await makeProvider();
    }, timeout);

    afterAll(async () => {
      if (subject === undefined) return;
      try {
        for (const id of created) await subject.provider.delete(id).catch(() => undefined);
      } finally {
        await subject.cleanup();
      }
    }, timeout);

    it(
      'create returns a pending or running instance with the spec name and tags',
      async () => {
        const spec = makeSpec(`conf-${run}-a`);
        const instance = await create(spec);
        expectMatches(instance, spec);
        expect(['pending', 'running']).toContain(instance.state);
        if (instance.createdAt !== undefined) expect(Number.isFinite(instance.createdAt)).toBe(true);
      },
      timeout,
    );

    it(
      'create with the same idempotency key returns the same instance, sequentially and concurrently',
      async () => {
        const fleet = `conf-${run}-b`;
        const spec = makeSpec(fleet);
        const first = await create(spec);
        const second = await create(spec);
        expect(second.id).toBe(first.id);
        expectMatches(second, spec);

        const racing = makeSpec(fleet);
        const [a, b] = await Promise.all([create(racing), create(racing)]);
        expect(b.id).toBe(a.id);

        const listed = (await provider().list({ [fleetTag]: fleet })).filter((i) => !isGone(i));
        expect(listed.map((i) => i.id).sort()).toEqual([first.id, a.id].sort());
      },
      timeout,
    );

    it(
      'get finds the instance with its name and tags',
      async () => {
        const spec = makeSpec(`conf-${run}-c`);
        const instance = await create(spec);
        const found = await provider().get(instance.id);
        expect(found).toBeDefined();
        if (found === undefined) return;
        expect(found.id).toBe(instance.id);
        expectMatches(found, spec);
        expect(EXISTING_STATES).toContain(found.state);
      },
      timeout,
    );

    it(
      "list by the fleet tag finds exactly this fleet's instances, not another fleet's",
      async () => {
        const ours = `conf-${run}-d`;
        const theirs = `conf-${run}-e`;
        const [mine, other] = await Promise.all([create(makeSpec(ours)), create(makeSpec(theirs))]);
        const listed = (await provider().list({ [fleetTag]: ours })).filter((i) => !isGone(i));
        expect(listed.map((i) => i.id)).toEqual([mine.id]);
        expect(listed[0]?.tags[fleetTag]).toBe(ours);
        const theirsListed = await provider().list({
          [fleetTag]: theirs,
          'forgejo-fleet-route': 'conformance',
        });
        expect(theirsListed.filter((i) => !isGone(i)).map((i) => i.id)).toEqual([other.id]);
        expect(await provider().list({ [fleetTag]: `conf-${run}-nobody` })).toEqual([]);
      },
      timeout,
    );

    it(
      'delete is idempotent: deleted, then not-found; get and list no longer show it',
      async () => {
        const fleet = `conf-${run}-f`;
        const instance = await create(makeSpec(fleet));
        expect(await provider().delete(instance.id)).toBe('deleted');
        created.delete(instance.id);
        expect(await provider().delete(instance.id)).toBe('not-found');
        expect(isGone(await provider().get(instance.id))).toBe(true);
        const listed = await provider().list({ [fleetTag]: fleet });
        expect(listed.filter((i) => !isGone(i))).toEqual([]);
      },
      timeout,
    );

    it(
      'names and tags round-trip through create, get and list',
      async () => {
        const fleet = `conf-${run}-g`;
        const spec = makeSpec(fleet, { name: `ff-conf-rt-${randomWord()}` });
        const tagged: InstanceSpec = {
          ...spec,
          tags: {
            ...spec.tags,
            'forgejo-fleet-handle': 'c0ffee00-1234-4abc-8def-0123456789ab',
            scope: 'org_acme',
          },
        };
        const instance = await create(tagged);
        expectMatches(instance, tagged);
        const found = await provider().get(instance.id);
        expect(found && { name: found.name, tags: found.tags }).toMatchObject({
          name: tagged.name,
          tags: tagged.tags,
        });
        const listed = await provider().list({ [fleetTag]: fleet, scope: 'org_acme' });
        expect(listed.map((i) => [i.id, i.name])).toEqual([[instance.id, tagged.name]]);
        expect(listed[0]?.tags).toMatchObject(tagged.tags);
      },
      timeout,
    );

    it(
      'every verb honours an already aborted signal with an AbortError',
      async () => {
        const controller = new AbortController();
        controller.abort();
        const signal = controller.signal;
        const abort = { name: 'AbortError' };
        await expect(provider().create(makeSpec(`conf-${run}-h`), { signal })).rejects.toMatchObject(abort);
        await expect(provider().get('x', { signal })).rejects.toMatchObject(abort);
        await expect(provider().delete('x', { signal })).rejects.toMatchObject(abort);
        await expect(provider().list({ [fleetTag]: 'x' }, { signal })).rejects.toMatchObject(abort);
      },
      timeout,
    );

    if (options.unknownId !== undefined) {
      const unknownId = options.unknownId;
      it(
        'an id that never existed: get is undefined, delete is not-found',
        async () => {
          expect(isGone(await provider().get(unknownId))).toBe(true);
          expect(await provider().delete(unknownId)).toBe('not-found');
        },
        timeout,
      );
    }
  });
}
