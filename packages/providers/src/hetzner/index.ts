import { type Clock, isAbortError, systemClock, throwIfAborted } from '@forgejo-fleet/runtime';
import type { Dispatcher } from 'undici';
import {
  type CallOptions,
  type Instance,
  type InstanceSpec,
  type MachineChoice,
  type Provider,
  ProviderError,
} from '../provider.js';
import { createHcloudApi } from './api.js';
import { hetznerChoices } from './choices.js';
import type { HetznerCredentialsConfig, HetznerProviderOptions } from './config.js';
import { classifyHcloudError, HcloudApiError, hetznerError } from './errors.js';
import { imageResolver, NoImageError } from './image.js';
import { toInstance } from './instance.js';
import { IDEMPOTENCY_LABEL, keyMark, labelSelector, tagsToLabels } from './labels.js';
import { createRateLimiter, type RateLimiter, RateLimiters } from './rate-limiter.js';
import { hetznerRebuild } from './rebuild.js';
import { ServerAnswer, ServerList } from './schema.js';

export { hetznerChoices } from './choices.js';
export type { HetznerCredentialsConfig, HetznerProviderConfig, HetznerProviderOptions } from './config.js';
export { classifyHcloudError } from './errors.js';
export { labelSelector, labelsToTags, tagsToLabels } from './labels.js';
export { createRateLimiter, type RateLimiter, RateLimiters } from './rate-limiter.js';
export { REBUILD_TIMEOUT_MS } from './rebuild.js';

export const HETZNER_KIND = 'hetzner';

export interface HetznerProviderDeps {
  /** undici dispatcher for every request (tests: an Agent to the fake; default: undici's global). */
  readonly dispatcher?: Dispatcher;
  readonly clock?: Clock;
  /** Shared by every provider built for one process, so one project token has one bucket. */
  readonly rateLimiters?: RateLimiters;
}

/** "This field is limited to 32KiB." */
export const MAX_USER_DATA_BYTES = 32 * 1024;
const PAGE_SIZE = 50;
const HOSTNAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function hasTags(instance: Instance, tags: Readonly<Record<string, string>>): boolean {
  return Object.entries(tags).every(([key, value]) => instance.tags[key] === value);
}

/**
 * Hetzner Cloud servers over its REST API (no SDK). Hetzner has no idempotency key, but server
 * names are unique per project: the name comes from the spec, so a second create of the same
 * dispatch (a retry, a lost answer, another choice) meets `uniqueness_error` and the server is
 * adopted by name, if it carries this dispatch's key mark.
 */
export function createHetznerProvider(
  name: string,
  config: HetznerProviderOptions,
  credentials?: HetznerCredentialsConfig,
  deps: HetznerProviderDeps = {},
): Provider {
  const clock = deps.clock ?? systemClock;
  const token = (credentials?.token ?? config.token).reveal();
  const limiters = deps.rateLimiters ?? new RateLimiters(() => createRateLimiter(clock));
  const limiter: RateLimiter = limiters.for(config.endpoint, token);
  const api = createHcloudApi({
    endpoint: config.endpoint,
    token,
    limiter,
    clock,
    dispatcher: deps.dispatcher,
  });
  const resolveImage = imageResolver(api, config.image, clock);
  const choices = hetznerChoices(config);

  function fail(what: string, error: unknown): unknown {
    if (isAbortError(error) || error instanceof ProviderError) return error;
    if (error instanceof NoImageError) return new ProviderError(name, 'fatal', `${what}: ${error.message}`);
    return hetznerError(name, what, error);
  }

  /** What Hetzner would refuse, refused before any call; answers the labels of the spec's tags. */
  function specLabels(what: string, spec: InstanceSpec): Record<string, string> {
    if (!HOSTNAME.test(spec.name))
      throw new ProviderError(name, 'fatal', `${what}: name is not a valid hostname`);
    const bytes = Buffer.byteLength(spec.userData, 'utf8');
    if (bytes > MAX_USER_DATA_BYTES) {
      throw new ProviderError(
        name,
        'fatal',
        `${what}: user-data is ${bytes} bytes; Hetzner takes at most ${MAX_USER_DATA_BYTES}`,
      );
    }
    try {
      return tagsToLabels(spec.tags);
    } catch (error) {
      throw new ProviderError(name, 'fatal', `${what}: ${(error as Error).message}`);
    }
  }

  function pickChoice(choice: MachineChoice | undefined): MachineChoice {
    if (choice === undefined) return choices[0] as MachineChoice;
    const known = choices.find((c) => c.key === choice.key);
    if (known === undefined)
      throw new ProviderError(name, 'fatal', `create: unknown machine choice "${choice.key}"`);
    return known;
  }

  async function byName(serverName: string, signal: AbortSignal | undefined) {
    const { servers } = await api.call('GET', '/servers', ServerList, {
      query: { name: serverName },
      signal,
    });
    return servers[0];
  }

  /** The server of this name if it is this dispatch's; a stranger's name is a fatal conflict. */
  async function adopt(spec: InstanceSpec, signal: AbortSignal | undefined): Promise<Instance | undefined> {
    const server = await byName(spec.name, signal);
    if (server === undefined) return undefined;
    if (server.labels[IDEMPOTENCY_LABEL] !== keyMark(spec.idempotencyKey)) {
      throw new ProviderError(
        name,
        'fatal',
        `create: server name "${spec.name}" is taken by a server of another dispatch`,
      );
    }
    return toInstance(server, clock.now());
  }

  function createBody(
    spec: InstanceSpec,
    choice: MachineChoice,
    image: string,
    labels: Record<string, string>,
  ) {
    return {
      name: spec.name,
      server_type: choice.machine,
      image,
      // Always a location: `datacenter` is deprecated, and without either Hetzner picks one.
      location: choice.location,
      labels,
      user_data: spec.userData,
      start_after_create: true,
      ...(config.ssh_keys.length === 0 ? {} : { ssh_keys: config.ssh_keys }),
      ...(config.firewalls.length === 0
        ? {}
        : { firewalls: config.firewalls.map((firewall) => ({ firewall })) }),
      ...(config.networks.length === 0 ? {} : { networks: config.networks }),
      public_net: { enable_ipv4: config.public_net.ipv4, enable_ipv6: config.public_net.ipv6 },
    };
  }

  const rebuild = hetznerRebuild({ provider: name, api, clock, resolveImage, fail, specLabels });

  async function list(
    tags: Readonly<Record<string, string>>,
    options: CallOptions = {},
  ): Promise<Instance[]> {
    const selector = labelSelector(tags);
    const found: Instance[] = [];
    try {
      let page: number | undefined = 1;
      while (page !== undefined) {
        const answer: ServerList = await api.call('GET', '/servers', ServerList, {
          query: { label_selector: selector === '' ? undefined : selector, page, per_page: PAGE_SIZE },
          signal: options.signal,
        });
        const now = clock.now();
        for (const server of answer.servers) found.push(toInstance(server, now));
        const next: number | null | undefined = answer.meta?.pagination?.next_page;
        page = typeof next === 'number' && next > page ? next : undefined;
      }
    } catch (error) {
      throw fail('list servers', error);
    }
    // The selector matches hashed values; the decoded tags must match exactly.
    return found.filter((instance) => hasTags(instance, tags));
  }

  return {
    name,
    kind: HETZNER_KIND,
    choices,

    async create(spec: InstanceSpec, options: CallOptions = {}): Promise<Instance> {
      const { signal } = options;
      throwIfAborted(signal);
      const choice = pickChoice(spec.choice);
      const what = `create server ${choice.key}`;
      const labels = { ...specLabels(what, spec), [IDEMPOTENCY_LABEL]: keyMark(spec.idempotencyKey) };
      try {
        const image = await resolveImage(signal);
        const body = createBody(spec, choice, image, labels);
        const { server } = await api.call('POST', '/servers', ServerAnswer, { body, signal });
        return toInstance(server, clock.now());
      } catch (error) {
        if (isAbortError(error)) throw error;
        const uniqueName = error instanceof HcloudApiError && error.code === 'uniqueness_error';
        if (!uniqueName && classifyHcloudError(error) !== 'transient') throw fail(what, error);
        // Taken name, or no clear answer: the server may exist; look it up by its name.
        let found: Instance | undefined;
        try {
          found = await adopt(spec, signal);
        } catch (lookup) {
          if (lookup instanceof ProviderError || isAbortError(lookup)) throw lookup;
          throw hetznerError(name, `${what}: answer lost and the lookup by name failed`, lookup, {
            errorClass: 'transient',
          });
        }
        if (found !== undefined) return found;
        throw uniqueName
          ? hetznerError(name, `${what}: name taken but not found`, error, { errorClass: 'transient' })
          : fail(what, error);
      }
    },

    async delete(id: string, options: CallOptions = {}) {
      throwIfAborted(options.signal);
      if (!/^\d{1,16}$/.test(id)) return 'not-found';
      try {
        await api.call('DELETE', `/servers/${id}`, ServerAnswer.partial(), { signal: options.signal });
        return 'deleted';
      } catch (error) {
        if (error instanceof HcloudApiError && error.code === 'not_found') return 'not-found';
        throw fail(`delete server ${id}`, error);
      }
    },

    async get(id: string, options: CallOptions = {}) {
      throwIfAborted(options.signal);
      if (!/^\d{1,16}$/.test(id)) return undefined;
      try {
        const { server } = await api.call('GET', `/servers/${id}`, ServerAnswer, { signal: options.signal });
        return toInstance(server, clock.now());
      } catch (error) {
        if (error instanceof HcloudApiError && error.code === 'not_found') return undefined;
        throw fail(`get server ${id}`, error);
      }
    },

    async list(tags, options = {}) {
      throwIfAborted(options.signal);
      return list(tags, options);
    },

    rebuild,
  };
}
