import { type Clock, isAbortError, systemClock, throwIfAborted } from '@forgejo-fleet/runtime';
import type { Dispatcher } from 'undici';
import { DeadlineExceeded, type DeadlineTimer, realTimer } from '../deadlines.js';
import {
  type CallOptions,
  type Instance,
  type InstanceSpec,
  type MachineChoice,
  type Provider,
  ProviderError,
} from '../provider.js';
import { createKubeApi } from './api.js';
import type { PodBootstrap, PodBootstrapper } from './bootstrap.js';
import { kubernetesChoices } from './choices.js';
import type { KubernetesCredentialsConfig, KubernetesProviderOptions } from './config.js';
import { type Connection, connect, type ReadFile, readTextFile } from './connection.js';
import { classifyKubeError, KubeApiError, kubeError } from './errors.js';
import { toInstance } from './instance.js';
import { accessFromKubeconfig, inClusterAccess, KubeconfigError } from './kubeconfig.js';
import {
  FLAVOR_LABEL,
  KEY_ANNOTATION,
  LabelError,
  labelSelector,
  NAME_ANNOTATION,
  objectName,
  tagsToMetadata,
} from './labels.js';
import { podManifest, secretManifest, secretName, vmiManifest } from './manifests.js';
import { Anything, KubeList, KubeObject, SecretObject } from './schema.js';

export type { PodBootstrap, PodBootstrapper } from './bootstrap.js';
export { kubernetesChoices } from './choices.js';
export type {
  KubernetesCredentialsConfig,
  KubernetesProviderConfig,
  KubernetesProviderOptions,
} from './config.js';
export { classifyKubeError } from './errors.js';

export const KUBERNETES_KIND = 'kubernetes';

export interface KubernetesProviderDeps {
  /**
   * `podBootstrapFromUserData` of @forgejo-fleet/cloud-init, wired by the apps (see ./bootstrap.ts);
   * without it a pod-flavour create fails as a configuration error.
   */
  readonly podBootstrap?: PodBootstrapper;
  /** undici dispatcher for every request (tests); default: an Agent with the cluster's TLS material. */
  readonly dispatcher?: Dispatcher;
  readonly clock?: Clock;
  /** Bounds taking back a half-made object after a failed or aborted create (default: setTimeout). */
  readonly timer?: DeadlineTimer;
  /** Reads kubeconfig, CA, certificate and token files (default: node:fs). */
  readonly readFile?: ReadFile;
  /** For the in-cluster service account: KUBERNETES_SERVICE_HOST/_PORT (module.ts passes process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where the in-cluster token and ca.crt are (default: the service account's mount). */
  readonly serviceAccountDir?: string;
}

const PAGE_SIZE = 100;
/** An expired continue token (410) restarts the list this often before the list gives up. */
const LIST_RESTARTS = 3;
/** A Secret holds at most 1 MiB of data (core/v1 Secret). */
const MAX_SECRET_BYTES = 1024 * 1024;
const OBJECT_NAME = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
/** How long taking back a half-made object may take: it runs after the create gave up. */
export const TAKE_BACK_MS = 10_000;
/**
 * A live create makes the Secret milliseconds after its owner; an owner still waiting for it this
 * long after its creationTimestamp lost its creator (killed between the two POSTs, so the runner
 * token died with it) and never starts.
 */
export const SECRET_GRACE_MS = 30_000;

function hasTags(instance: Instance, tags: Readonly<Record<string, string>>): boolean {
  return Object.entries(tags).every(([key, value]) => instance.tags[key] === value);
}

/**
 * `kind: kubernetes`: one Pod (flavor pod) or one KubeVirt VirtualMachineInstance (flavor kubevirt)
 * per job, over a thin undici client of the REST API.
 *
 * Why not @kubernetes/client-node: its 2.x needs Node ≥ 22 (undici 8); 1.4.x runs on Node 20 but
 * brings node-fetch and ~70 packages, throws a raw string body for every non-2xx (the Status must be
 * parsed back out of it), throws "Unknown API Status Code!" for statuses its generated code does not
 * list, and its error messages carry the whole request including headers. The provider needs eight
 * calls; a client of a hundred lines gives them deadlines and abort signals like every other
 * provider, the Status object and Retry-After, and the same auth rules (kubeconfig with token,
 * tokenFile or client certificate; the in-cluster service account with its token re-read every 60 s).
 *
 * Contract: the object name comes from the idempotency key, so a replayed create meets 409
 * AlreadyExists and adopts the object if it carries the same key. The runner token never goes into
 * an object's spec: it is in a Secret created right after its Pod/VMI, owned by it (so the cluster
 * deletes it with its owner), mounted read-only at 0400 (pod) or read by KubeVirt's cloud-init
 * (`secretRef`). An owner still pending SECRET_GRACE_MS after its creation without its Secret
 * reads as `stopped` (its creator died between the two POSTs): the reconciler replaces it.
 */
export function createKubernetesProvider(
  name: string,
  config: KubernetesProviderOptions,
  credentials?: KubernetesCredentialsConfig,
  deps: KubernetesProviderDeps = {},
): Provider {
  const clock = deps.clock ?? systemClock;
  const timer = deps.timer ?? realTimer;
  const readFile = deps.readFile ?? readTextFile;
  const { flavor, namespace } = config;
  const choices = kubernetesChoices(config);
  const machine = (choices[0] as MachineChoice).machine;
  const ns = encodeURIComponent(namespace);
  const ownerKind =
    flavor === 'pod'
      ? { apiVersion: 'v1', kind: 'Pod', path: `/api/v1/namespaces/${ns}/pods` }
      : {
          apiVersion: 'kubevirt.io/v1',
          kind: 'VirtualMachineInstance',
          path: `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances`,
        };
  const secretsPath = `/api/v1/namespaces/${ns}/secrets`;
  const orphanNote = `bootstrap Secret missing: the dispatcher stopped between the ${flavor === 'pod' ? 'Pod' : 'VMI'} and its Secret`;

  /** Still waiting to start past the grace: only then is its Secret worth a look. */
  function awaitsSecret(instance: Instance): boolean {
    return (
      instance.state === 'pending' &&
      instance.createdAt !== undefined &&
      clock.now() - instance.createdAt >= SECRET_GRACE_MS
    );
  }

  /** An owner without its Secret never starts: `stopped`, so the reconciler replaces it. */
  function orphaned(instance: Instance): Instance {
    return { ...instance, state: 'stopped', note: orphanNote };
  }

  let connecting: Promise<Connection> | undefined;
  async function buildConnection(): Promise<Connection> {
    const file = credentials?.kubeconfig_file ?? config.kubeconfig_file;
    const context = credentials === undefined ? config.context : credentials.context;
    let access: ReturnType<typeof inClusterAccess>;
    if (file === undefined) {
      access = inClusterAccess(deps.env ?? {}, deps.serviceAccountDir);
    } else {
      let text: string;
      try {
        text = await readFile(file);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        throw new KubeconfigError(
          `kubeconfig_file ${file}: cannot read (${typeof code === 'string' ? code : 'error'})`,
        );
      }
      access = accessFromKubeconfig(text, file, context);
    }
    return connect(access, { readFile, clock, dispatcher: deps.dispatcher });
  }
  // Built on first use, so building the provider reads no file; a failure is tried again next call.
  function connection(): Promise<Connection> {
    connecting ??= buildConnection().catch((error: unknown) => {
      connecting = undefined;
      throw error;
    });
    return connecting;
  }
  const api = createKubeApi({ connection, clock });

  function fail(what: string, error: unknown): unknown {
    if (isAbortError(error) || error instanceof ProviderError) return error;
    if (error instanceof KubeconfigError || error instanceof LabelError)
      return new ProviderError(name, 'fatal', `${what}: ${error.message}`, { cause: error });
    return kubeError(name, what, error);
  }

  const notFound = (error: unknown) => error instanceof KubeApiError && error.status === 404;
  const alreadyExists = (error: unknown) =>
    error instanceof KubeApiError && error.status === 409 && error.reason === 'AlreadyExists';

  async function getOwner(id: string, signal: AbortSignal | undefined): Promise<KubeObject | undefined> {
    try {
      const object = await api.call('GET', `${ownerKind.path}/${id}`, KubeObject, { signal });
      // A pod of the other flavour (a virt-launcher) or of someone else is not ours.
      return object.metadata.labels[FLAVOR_LABEL] === flavor ? object : undefined;
    } catch (error) {
      if (notFound(error)) return undefined;
      throw error;
    }
  }

  /** The object of this name if it is this create's; another key's object is a fatal conflict. */
  function adopted(object: KubeObject | undefined, spec: InstanceSpec, what: string): KubeObject | undefined {
    if (object === undefined) return undefined;
    if (object.metadata.annotations[KEY_ANNOTATION] !== spec.idempotencyKey)
      throw new ProviderError(
        name,
        'fatal',
        `${what}: ${object.metadata.name} belongs to another idempotency key`,
      );
    return object;
  }

  function bootstrapFiles(
    spec: InstanceSpec,
    what: string,
  ): { files: Record<string, string>; boot?: PodBootstrap } {
    if (flavor === 'kubevirt') return { files: { userdata: spec.userData } };
    if (deps.podBootstrap === undefined)
      throw new ProviderError(name, 'fatal', `${what}: no pod bootstrap wired (podBootstrapFromUserData)`);
    let boot: PodBootstrap;
    try {
      boot = deps.podBootstrap(spec.userData);
    } catch (error) {
      throw new ProviderError(
        name,
        'fatal',
        `${what}: ${error instanceof Error ? error.message : 'bad user-data'}`,
        {
          cause: error,
        },
      );
    }
    return { files: { ...boot.files }, boot };
  }

  /** Creates the owner's Secret; an existing one is kept when it belongs to this owner. */
  async function ensureSecret(
    owner: KubeObject,
    labels: Record<string, string>,
    files: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const body = secretManifest({ ...ownerKind, object: owner }, namespace, labels, files);
    for (let attempt = 0; ; attempt++) {
      try {
        await api.call('POST', secretsPath, SecretObject, { body, signal });
        return;
      } catch (error) {
        if (!alreadyExists(error)) throw error;
      }
      const existing = await api.call(
        'GET',
        `${secretsPath}/${secretName(owner.metadata.name)}`,
        SecretObject,
        {
          signal,
        },
      );
      if (existing.metadata.ownerReferences.some((ref) => ref.uid === owner.metadata.uid)) return;
      if (attempt > 0)
        throw new ProviderError(name, 'transient', `create: secret ${body.metadata.name} is taken`);
      // Left by an earlier object of this name, waiting for garbage collection: replace it.
      await api
        .call('DELETE', `${secretsPath}/${body.metadata.name}`, Anything, { signal })
        .catch((error: unknown) => {
          if (!notFound(error)) throw error;
        });
    }
  }

  async function removeOwner(id: string, uid: string | undefined, signal?: AbortSignal): Promise<void> {
    await api.call('DELETE', `${ownerKind.path}/${id}`, Anything, {
      body: {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        propagationPolicy: 'Background',
        ...(uid === undefined ? {} : { preconditions: { uid } }),
      },
      signal,
    });
  }

  /**
   * Deletes an object whose create failed or was aborted after the object was made: without its
   * Secret a pod waits in ContainerCreating until its deadline. Best effort, under a deadline of its
   * own instead of the create's signal (which may be the very abort that got us here); the
   * orphan sweep and garbage collection cover whatever this misses.
   */
  async function takeBack(id: string, uid: string | undefined): Promise<void> {
    const deadline = new AbortController();
    const cancel = timer(TAKE_BACK_MS, () =>
      deadline.abort(new DeadlineExceeded(`taking back ${id}: deadline of ${TAKE_BACK_MS} ms exceeded`)),
    );
    try {
      await removeOwner(id, uid, deadline.signal);
    } catch {
      // Gone already, or unreachable: the orphan sweep deletes it later.
    } finally {
      cancel();
    }
  }

  /** Every object of a collection matching the selector, over every page. */
  async function listAll(
    path: string,
    selector: string,
    signal: AbortSignal | undefined,
  ): Promise<KubeObject[]> {
    for (let restart = 0; ; restart++) {
      const found: KubeObject[] = [];
      let token: string | undefined;
      try {
        do {
          const page: KubeList = await api.call('GET', path, KubeList, {
            query: { labelSelector: selector, limit: PAGE_SIZE, continue: token },
            signal,
          });
          found.push(...page.items);
          token = page.metadata?.continue ?? undefined;
        } while (token !== undefined && token !== '');
        return found;
      } catch (error) {
        // An expired continue token: start again for one consistent snapshot (notes §1).
        if (error instanceof KubeApiError && error.status === 410 && restart < LIST_RESTARTS) continue;
        throw error;
      }
    }
  }

  async function list(
    tags: Readonly<Record<string, string>>,
    signal: AbortSignal | undefined,
  ): Promise<Instance[]> {
    const selector = labelSelector(tags, flavor);
    const owners = await listAll(ownerKind.path, selector, signal);
    // The selector matches hashed values; the decoded tags must match exactly.
    const found = owners
      .map((item) => toInstance(item, flavor, machine))
      .filter((instance) => hasTags(instance, tags));
    if (!found.some(awaitsSecret)) return found;
    // A Secret carries its owner's labels, so the same selector finds every Secret of these owners.
    const secrets = new Set(
      (await listAll(secretsPath, selector, signal)).map((secret) => secret.metadata.name),
    );
    return found.map((instance) =>
      awaitsSecret(instance) && !secrets.has(secretName(instance.id)) ? orphaned(instance) : instance,
    );
  }

  async function hasSecret(id: string, signal: AbortSignal | undefined): Promise<boolean> {
    try {
      await api.call('GET', `${secretsPath}/${secretName(id)}`, SecretObject, { signal });
      return true;
    } catch (error) {
      if (notFound(error)) return false;
      throw error;
    }
  }

  async function create(spec: InstanceSpec, signal: AbortSignal | undefined): Promise<Instance> {
    const what = `create ${flavor === 'pod' ? 'pod' : 'vmi'}`;
    if (spec.choice !== undefined && !choices.some((c) => c.key === spec.choice?.key))
      throw new ProviderError(name, 'fatal', `${what}: unknown machine choice "${spec.choice.key}"`);
    const id = objectName(spec.idempotencyKey);
    const tagged = tagsToMetadata(spec.tags);
    const labels = { ...tagged.labels, [FLAVOR_LABEL]: flavor };
    const ref = {
      name: id,
      namespace,
      metadata: {
        labels,
        annotations: {
          ...tagged.annotations,
          [KEY_ANNOTATION]: spec.idempotencyKey,
          [NAME_ANNOTATION]: spec.name,
        },
      },
    };
    const { files, boot } = bootstrapFiles(spec, what);
    const bytes = Object.values(files).reduce((sum, text) => sum + Buffer.byteLength(text, 'utf8'), 0);
    if (bytes > MAX_SECRET_BYTES)
      throw new ProviderError(
        name,
        'fatal',
        `${what}: bootstrap is ${bytes} bytes; a Secret holds at most 1 MiB`,
      );
    const body =
      boot === undefined
        ? vmiManifest(ref, requireTemplate('kubevirt'))
        : podManifest(ref, requireTemplate('pod'), boot);

    let owner: KubeObject | undefined;
    try {
      owner = await api.call('POST', ownerKind.path, KubeObject, { body, signal });
    } catch (error) {
      if (isAbortError(error)) throw error;
      const replay = alreadyExists(error);
      if (!replay && classifyKubeError(error) !== 'transient') throw fail(what, error);
      // A replay, or no clear answer: the object may exist; look it up by its name.
      try {
        owner = adopted(await getOwner(id, signal), spec, what);
      } catch (lookup) {
        if (lookup instanceof ProviderError || isAbortError(lookup)) throw lookup;
        throw kubeError(name, `${what}: answer lost and the lookup by name failed`, lookup, 'transient');
      }
      if (owner === undefined) throw kubeError(name, what, error, 'transient');
    }
    if (!owner.metadata.deletionTimestamp) {
      try {
        await ensureSecret(owner, labels, files, signal);
      } catch (error) {
        // Without its Secret the object never starts: take it back, even when aborted.
        await takeBack(id, owner.metadata.uid);
        throw fail(`${what}: secret`, error);
      }
    }
    return toInstance(owner, flavor, machine);
  }

  function requireTemplate<F extends 'pod' | 'kubevirt'>(
    which: F,
  ): NonNullable<KubernetesProviderOptions[F]> {
    const template = config[which];
    // The config schema requires the flavour's template; a hand-built options object may not.
    if (template === undefined)
      throw new ProviderError(name, 'fatal', `create: no ${which} template configured`);
    return template as NonNullable<KubernetesProviderOptions[F]>;
  }

  return {
    name,
    kind: KUBERNETES_KIND,
    choices,

    async create(spec, options: CallOptions = {}) {
      throwIfAborted(options.signal);
      try {
        return await create(spec, options.signal);
      } catch (error) {
        throw fail('create', error);
      }
    },

    async delete(id, options: CallOptions = {}) {
      const { signal } = options;
      throwIfAborted(signal);
      if (!OBJECT_NAME.test(id)) return 'not-found';
      try {
        const object = await getOwner(id, signal);
        // Already on its way out (a deletion timestamp): gone as far as the fleet is concerned.
        if (object === undefined || object.metadata.deletionTimestamp) return 'not-found';
        try {
          await removeOwner(id, object.metadata.uid, signal);
        } catch (error) {
          // 404: gone meanwhile; 409: the uid precondition failed, a successor holds the name.
          if (notFound(error) || (error instanceof KubeApiError && error.status === 409)) return 'not-found';
          throw error;
        }
        // The Secret goes with its owner (garbage collection); deleting it now frees the token at once.
        await api
          .call('DELETE', `${secretsPath}/${secretName(id)}`, Anything, { signal })
          .catch((error: unknown) => {
            if (isAbortError(error)) throw error;
          });
        return 'deleted';
      } catch (error) {
        throw fail(`delete ${id}`, error);
      }
    },

    async get(id, options: CallOptions = {}) {
      throwIfAborted(options.signal);
      if (!OBJECT_NAME.test(id)) return undefined;
      try {
        const object = await getOwner(id, options.signal);
        if (object === undefined) return undefined;
        const instance = toInstance(object, flavor, machine);
        return awaitsSecret(instance) && !(await hasSecret(id, options.signal))
          ? orphaned(instance)
          : instance;
      } catch (error) {
        throw fail(`get ${id}`, error);
      }
    },

    async list(tags, options: CallOptions = {}) {
      throwIfAborted(options.signal);
      try {
        return await list(tags, options.signal);
      } catch (error) {
        throw fail('list', error);
      }
    },
  };
}
