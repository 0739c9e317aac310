import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import {
  type Instance,
  type InstanceSpec,
  type InstanceState,
  type MachineChoice,
  type Provider,
  ProviderError,
  type ProviderErrorClass,
} from '../provider.js';

/** What a provider under test comes with; the optional parts enable the checks that need them. */
export interface ConformanceSubject {
  readonly provider: Provider;
  /** Stops fakes and removes temporary state; runs after the suite deleted what it created. */
  cleanup(): Promise<void>;
  /** The user-data the cloud received for an instance, where the subject can tell (fakes can). */
  userDataOf?(instance: Instance): Promise<string | undefined>;
  /** Makes the next create on `choice` fail with an error of that class (fakes can). */
  injectError?(errorClass: ProviderErrorClass, choice: MachineChoice): Promise<void> | void;
  /** The classes `injectError` can produce (default: all five). */
  readonly injectableErrors?: readonly ProviderErrorClass[];
  /** How many times the cloud rebuilt an instance (fakes can): proves a repeated rebuild did nothing. */
  rebuildsOf?(instance: Instance): Promise<number>;
  /** Makes the next rebuild never finish (fakes can). */
  stallNextRebuild?(): Promise<void> | void;
}

export interface ConformanceOptions {
  /** User-data for every instance the checks create (default: a `#cloud-config` that does nothing). */
  readonly userData?: string;
  /** An id in the provider's format that never exists; enables the "unknown id" check. */
  readonly unknownId?: string;
  /** Tag key holding the fleet id (default `forgejo-fleet`, as the dispatcher writes it). */
  readonly fleetTag?: string;
  /**
   * Tags every instance of the checks carries besides its test fleet, e.g. the deployment's
   * `forgejo-fleet: <fleet_id>` with `fleetTag: 'forgejo-fleet-check'`, so that an IAM policy
   * scoped to the fleet tag lets the checks delete what they made.
   */
  readonly baseTags?: Readonly<Record<string, string>>;
}

export type CheckOutcome =
  | { readonly status: 'passed' }
  | { readonly status: 'skipped'; readonly reason: string };

export interface ConformanceCheck {
  readonly name: string;
  /** Resolves with the outcome; a failed check throws (an AssertionError or the provider's error). */
  run(): Promise<CheckOutcome>;
}

export interface ConformanceRun {
  readonly checks: readonly ConformanceCheck[];
  /** The throwaway fleet ids the checks tag their instances with (never a real fleet's). */
  readonly fleets: readonly string[];
  /**
   * Deletes everything the checks created, and whatever still carries one of their fleet ids.
   * `failed` says what went wrong; `leftover` holds the ids whose delete failed (still there).
   */
  cleanup(): Promise<{ deleted: number; failed: string[]; leftover: string[] }>;
}

export const CHECK_NAMES = [
  'choices are non-empty with unique keys',
  'create returns a pending or running instance with the spec name and tags',
  'create with the same idempotency key and choice returns the same instance, sequentially and concurrently',
  'get finds the instance with its name and tags',
  "list by the fleet tag finds exactly this fleet's instances, not another fleet's",
  'tags with any characters round-trip through create, get and list',
  'delete is idempotent: deleted, then not-found; get and list no longer show it',
  'an id that never existed: get is undefined, delete is not-found',
  'every verb honours an already aborted signal with an AbortError',
  'errors are classified',
  'user-data arrives intact',
] as const;

/** States in which an instance still exists: created, booting, running its job or powered off. */
export const EXISTING_STATES: readonly InstanceState[] = ['pending', 'running', 'stopping', 'stopped'];
const ERROR_CLASSES: readonly ProviderErrorClass[] = [
  'capacity',
  'quota',
  'rate-limited',
  'transient',
  'fatal',
];
export const MINIMAL_USER_DATA = '#cloud-config\n{}\n';
const PASSED: CheckOutcome = { status: 'passed' };

export function randomWord(): string {
  return randomBytes(5).toString('hex');
}

/** After a successful delete, a provider may still show the instance as `terminated` (EC2 does for ~1 h). */
export function isGone(instance: Instance | undefined): boolean {
  return instance === undefined || instance.state === 'terminated';
}

export function assertTagsInclude(
  actual: Readonly<Record<string, string>>,
  expected: Readonly<Record<string, string>>,
) {
  for (const [key, value] of Object.entries(expected)) {
    assert.equal(
      actual[key],
      value,
      `tag ${key}: expected ${JSON.stringify(value)}, got ${JSON.stringify(actual[key])}`,
    );
  }
}

function assertMatches(instance: Instance, spec: InstanceSpec) {
  assert.equal(typeof instance.id, 'string', 'id must be a string');
  assert.notEqual(instance.id, '', 'id must not be empty');
  assert.equal(instance.name, spec.name, 'name');
  // Providers may add tags of their own (EC2's Name); ours must all be there, unchanged.
  assertTagsInclude(instance.tags, spec.tags);
}

export async function expectAbort(what: string, call: () => Promise<unknown>) {
  const outcome = await call().then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.ok(
    outcome instanceof Error && outcome.name === 'AbortError',
    `${what} with an aborted signal must reject with an AbortError`,
  );
}

/**
 * The provider contract as plain async checks, for vitest (`describeProviderConformance`) and for
 * `forgejo-fleet provider-check`. The checks share a few instances (a real cloud bills each one),
 * tag them with throwaway fleet ids, and `cleanup` deletes all of them, even after failures.
 */
export function conformanceChecks(
  subject: ConformanceSubject,
  options: ConformanceOptions = {},
): ConformanceRun {
  const { provider } = subject;
  const fleetTag = options.fleetTag ?? 'forgejo-fleet';
  const userData = options.userData ?? MINIMAL_USER_DATA;
  const run = randomWord();
  const fleets = { main: `ff-conf-${run}-a`, other: `ff-conf-${run}-b`, errors: `ff-conf-${run}-c` };
  const created = new Map<string, string>(); // id → fleet
  let primary: Promise<{ spec: InstanceSpec; instance: Instance }> | undefined;
  let victim: Promise<Instance> | undefined;

  function makeSpec(fleet: string, extraTags: Record<string, string> = {}): InstanceSpec {
    const id = randomWord();
    return {
      name: `ff-conf-${id}`,
      idempotencyKey: `conformance-${run}-${id}`,
      userData,
      tags: {
        ...options.baseTags,
        [fleetTag]: fleet,
        'forgejo-fleet-dispatch': `d${id}`,
        'forgejo-fleet-route': 'conformance',
        ...extraTags,
      },
    };
  }

  async function create(spec: InstanceSpec): Promise<Instance> {
    const instance = await provider.create(spec);
    created.set(instance.id, spec.tags[fleetTag] ?? '');
    return instance;
  }

  // Values no cloud takes as they are everywhere: a scope, a long repo path, spaces and unicode.
  const awkwardTags = {
    'forgejo-fleet-scope': 'repo:alice/web-site',
    'forgejo-fleet-handle': 'c0ffee00-1234-4abc-8def-0123456789ab',
    'forgejo-fleet-note': `Ünïcode & spaces: ${'x'.repeat(80)}`,
  };

  function ensurePrimary() {
    primary ??= (async () => {
      const spec = makeSpec(fleets.main, awkwardTags);
      return { spec, instance: await create(spec) };
    })();
    return primary;
  }

  function ensureVictim() {
    victim ??= create(makeSpec(fleets.other));
    return victim;
  }

  async function liveIds(tags: Record<string, string>): Promise<string[]> {
    return (await provider.list(tags))
      .filter((i) => !isGone(i))
      .map((i) => i.id)
      .sort();
  }

  async function ours(fleet: string): Promise<string[]> {
    const ids: string[] = [];
    for (const [id, f] of created) if (f === fleet && !isGone(await provider.get(id))) ids.push(id);
    return ids.sort();
  }

  const bodies: Record<(typeof CHECK_NAMES)[number], () => Promise<CheckOutcome>> = {
    'choices are non-empty with unique keys': async () => {
      assert.ok(provider.choices.length > 0, 'choices must not be empty');
      const keys = provider.choices.map((c) => c.key);
      assert.equal(new Set(keys).size, keys.length, `choice keys must be unique: ${keys.join(', ')}`);
      for (const choice of provider.choices)
        assert.ok(choice.machine !== '', `choice ${choice.key} has no machine`);
      return PASSED;
    },

    'create returns a pending or running instance with the spec name and tags': async () => {
      const { spec, instance } = await ensurePrimary();
      assertMatches(instance, spec);
      assert.ok(
        ['pending', 'running'].includes(instance.state),
        `state ${instance.state}, expected pending or running`,
      );
      if (instance.createdAt !== undefined)
        assert.ok(Number.isFinite(instance.createdAt), 'createdAt must be a number');
      return PASSED;
    },

    'create with the same idempotency key and choice returns the same instance, sequentially and concurrently':
      async () => {
        const { spec, instance } = await ensurePrimary();
        const again = await create(spec);
        assert.equal(again.id, instance.id, 'a second create with the same key made another instance');
        assertMatches(again, spec);
        const racing = makeSpec(fleets.main);
        const [a, b] = await Promise.all([create(racing), create(racing)]);
        assert.equal(a.id, b.id, 'two concurrent creates with the same key made two instances');
        return PASSED;
      },

    'get finds the instance with its name and tags': async () => {
      const { spec, instance } = await ensurePrimary();
      const found = await provider.get(instance.id);
      assert.ok(found !== undefined, 'get returned nothing for an instance just created');
      assert.equal(found.id, instance.id);
      assertMatches(found, spec);
      assert.ok(EXISTING_STATES.includes(found.state), `state ${found.state}`);
      return PASSED;
    },

    "list by the fleet tag finds exactly this fleet's instances, not another fleet's": async () => {
      const { instance } = await ensurePrimary();
      const other = await ensureVictim();
      const mine = await liveIds({ [fleetTag]: fleets.main });
      assert.ok(mine.includes(instance.id), 'list by the fleet tag misses an instance of that fleet');
      assert.ok(!mine.includes(other.id), "list by the fleet tag shows another fleet's instance");
      assert.deepEqual(mine, await ours(fleets.main), 'list by the fleet tag must show exactly that fleet');
      assert.deepEqual(await liveIds({ [fleetTag]: fleets.other, 'forgejo-fleet-route': 'conformance' }), [
        other.id,
      ]);
      assert.deepEqual(await liveIds({ [fleetTag]: `ff-conf-${run}-nobody` }), []);
      return PASSED;
    },

    'tags with any characters round-trip through create, get and list': async () => {
      const { spec, instance } = await ensurePrimary();
      assertMatches(instance, spec);
      const found = await provider.get(instance.id);
      assert.ok(found !== undefined, 'get returned nothing');
      assertTagsInclude(found.tags, spec.tags);
      const listed = await provider.list({
        [fleetTag]: fleets.main,
        'forgejo-fleet-scope': awkwardTags['forgejo-fleet-scope'],
      });
      const match = listed.find((i) => i.id === instance.id);
      assert.ok(match !== undefined, 'list by a tag value with ":" and "/" does not find the instance');
      assert.equal(match.name, spec.name);
      assertTagsInclude(match.tags, spec.tags);
      return PASSED;
    },

    'delete is idempotent: deleted, then not-found; get and list no longer show it': async () => {
      const instance = await ensureVictim();
      assert.equal(await provider.delete(instance.id), 'deleted');
      created.delete(instance.id);
      assert.equal(await provider.delete(instance.id), 'not-found', 'a second delete must answer not-found');
      assert.ok(isGone(await provider.get(instance.id)), 'get still shows a deleted instance');
      assert.deepEqual(
        await liveIds({ [fleetTag]: fleets.other }),
        [],
        'list still shows a deleted instance',
      );
      return PASSED;
    },

    'an id that never existed: get is undefined, delete is not-found': async () => {
      if (options.unknownId === undefined)
        return { status: 'skipped', reason: 'no unknownId given for this provider' };
      assert.ok(isGone(await provider.get(options.unknownId)), 'get of an unknown id must be undefined');
      assert.equal(await provider.delete(options.unknownId), 'not-found');
      return PASSED;
    },

    'every verb honours an already aborted signal with an AbortError': async () => {
      const controller = new AbortController();
      controller.abort();
      const signal = controller.signal;
      await expectAbort('create', () => provider.create(makeSpec(fleets.errors), { signal }));
      await expectAbort('get', () => provider.get('x', { signal }));
      await expectAbort('delete', () => provider.delete('x', { signal }));
      await expectAbort('list', () => provider.list({ [fleetTag]: 'x' }, { signal }));
      return PASSED;
    },

    'errors are classified': async () => {
      const inject = subject.injectError;
      if (inject === undefined) return { status: 'skipped', reason: 'the subject cannot inject errors' };
      const choice = provider.choices[0] as MachineChoice;
      for (const errorClass of subject.injectableErrors ?? ERROR_CLASSES) {
        await inject(errorClass, choice);
        const spec = { ...makeSpec(fleets.errors), choice };
        const outcome = await create(spec).then(
          (instance) => instance,
          (error: unknown) => error,
        );
        assert.ok(
          outcome instanceof ProviderError,
          `injected ${errorClass}: create did not fail with a ProviderError`,
        );
        assert.equal(
          outcome.class,
          errorClass,
          `injected ${errorClass}, got ${outcome.class}: ${outcome.message}`,
        );
        assert.equal(outcome.retryable, errorClass === 'transient' || errorClass === 'rate-limited');
      }
      assert.deepEqual(
        await liveIds({ [fleetTag]: fleets.errors }),
        [],
        'a failed create left an instance behind',
      );
      return PASSED;
    },

    'user-data arrives intact': async () => {
      const reveal = subject.userDataOf;
      if (reveal === undefined)
        return { status: 'skipped', reason: 'the subject cannot show what the VM received' };
      const { instance } = await ensurePrimary();
      assert.equal(await reveal(instance), userData, 'the user-data the VM received differs from the spec');
      return PASSED;
    },
  };

  return {
    checks: CHECK_NAMES.map((name) => ({ name, run: bodies[name] })),
    fleets: Object.values(fleets),
    cleanup: () => deleteFleets(provider, fleetTag, Object.values(fleets), created),
  };
}

/**
 * The suites' cleanup: deletes what they created and anything still listed under their throwaway
 * fleets, even after failures; says what failed and which deletes left an instance behind.
 */
export async function deleteFleets(
  provider: Provider,
  fleetTag: string,
  fleets: readonly string[],
  created: { keys(): Iterable<string>; delete(id: string): boolean },
): Promise<{ deleted: number; failed: string[]; leftover: string[] }> {
  const failed: string[] = [];
  const leftover: string[] = [];
  let deleted = 0;
  const ids = new Set(created.keys());
  for (const fleet of fleets) {
    try {
      for (const instance of await provider.list({ [fleetTag]: fleet }))
        if (!isGone(instance)) ids.add(instance.id);
    } catch (error) {
      failed.push(`list ${fleet}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  for (const id of ids) {
    try {
      if ((await provider.delete(id)) === 'deleted') deleted++;
      created.delete(id);
    } catch (error) {
      failed.push(`delete ${id}: ${error instanceof Error ? error.message : String(error)}`);
      leftover.push(id);
    }
  }
  return { deleted, failed, leftover };
}
